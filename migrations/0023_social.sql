CREATE TABLE `social_profiles` (
	`user_id` text PRIMARY KEY NOT NULL,
	`handle` text NOT NULL,
	`handle_key` text NOT NULL,
	`is_public` integer DEFAULT false NOT NULL,
	`showcase` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `social_profiles_handle_key` ON `social_profiles` (`handle_key`);--> statement-breakpoint
CREATE TABLE `social_shares` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`code` text NOT NULL,
	`kind` text NOT NULL,
	`ref_id` text,
	`snapshot` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `social_shares_code` ON `social_shares` (`code`);--> statement-breakpoint
CREATE INDEX `social_shares_user` ON `social_shares` (`user_id`,`id`);