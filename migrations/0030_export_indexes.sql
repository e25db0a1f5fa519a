DROP INDEX `energy_checkins_user_at`;--> statement-breakpoint
CREATE INDEX `energy_checkins_user_at` ON `energy_checkins` (`user_id`,`at`,`id`);--> statement-breakpoint
DROP INDEX `task_assignments_user_task`;--> statement-breakpoint
CREATE INDEX `task_assignments_user_task` ON `task_assignments` (`user_id`,`task_id`,`id`);--> statement-breakpoint
DROP INDEX `exports_expiring`;--> statement-breakpoint
CREATE INDEX `exports_expiring` ON `exports` (`expires_at`,`id`) WHERE "exports"."status" = 'completed';--> statement-breakpoint
CREATE INDEX `template_steps_template_id` ON `template_steps` (`template_id`,`id`);