ALTER TABLE `analytics_task_times` ADD `counted_day` text;--> statement-breakpoint
ALTER TABLE `analytics_task_times` ADD `counted_slices` text;--> statement-breakpoint
ALTER TABLE `analytics_task_times` ADD `counted_estimate` integer;--> statement-breakpoint
ALTER TABLE `analytics_task_times` ADD `counted_actual` integer;