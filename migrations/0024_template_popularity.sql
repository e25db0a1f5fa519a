ALTER TABLE `task_templates` ADD `uses` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `task_templates` ADD `listed_by_code` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `task_templates_popular` ON `task_templates` (`uses`,`times_applied`,`created_at`,`id`) WHERE "task_templates"."is_public" = 1 OR "task_templates"."listed_by_code" = 1;--> statement-breakpoint
ALTER TABLE `template_shares` DROP COLUMN `uses`;