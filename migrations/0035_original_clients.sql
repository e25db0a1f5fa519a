CREATE TABLE `onboarding_profiles` (
	`user_id` text PRIMARY KEY NOT NULL,
	`work_preference` text,
	`adhd_support_level` integer,
	`adhd_challenges` text DEFAULT '[]' NOT NULL,
	`daily_schedule` text,
	`productivity_goals` text DEFAULT '[]' NOT NULL,
	`completed_at` text,
	`skipped_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "onboarding_support_level_check" CHECK("onboarding_profiles"."adhd_support_level" BETWEEN 1 AND 10)
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_template_steps` (
	`id` text PRIMARY KEY NOT NULL,
	`template_id` text NOT NULL,
	`position` integer NOT NULL,
	`description` text NOT NULL,
	`short_label` text,
	`estimated_minutes` integer NOT NULL,
	`leaf_type` text DEFAULT 'HUMAN' NOT NULL,
	`icon` text,
	CONSTRAINT "template_steps_minutes_check" CHECK("__new_template_steps"."estimated_minutes" BETWEEN 1 AND 60)
);
--> statement-breakpoint
INSERT INTO `__new_template_steps`("id", "template_id", "position", "description", "short_label", "estimated_minutes", "leaf_type", "icon") SELECT "id", "template_id", "position", "description", "short_label", "estimated_minutes", "leaf_type", "icon" FROM `template_steps`;--> statement-breakpoint
DROP TABLE `template_steps`;--> statement-breakpoint
ALTER TABLE `__new_template_steps` RENAME TO `template_steps`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `template_steps_template` ON `template_steps` (`template_id`,`position`);--> statement-breakpoint
CREATE INDEX `template_steps_template_id` ON `template_steps` (`template_id`,`id`);--> statement-breakpoint
ALTER TABLE `agents` ADD `name` text;--> statement-breakpoint
ALTER TABLE `users` ADD `username` text;--> statement-breakpoint
ALTER TABLE `users` ADD `username_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_key` ON `users` (`username_key`);