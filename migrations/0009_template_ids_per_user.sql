ALTER TABLE `task_templates` ADD `client_id` text;--> statement-breakpoint
-- Existing templates keep the id their owner knows them by.
UPDATE `task_templates` SET `client_id` = `id` WHERE `user_id` IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `task_templates_user_client_id` ON `task_templates` (`user_id`,`client_id`);