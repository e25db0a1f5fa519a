CREATE TABLE `template_share_uses` (
	`template_id` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`template_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `template_share_uses_user` ON `template_share_uses` (`user_id`);--> statement-breakpoint
CREATE TABLE `template_shares` (
	`template_id` text PRIMARY KEY NOT NULL,
	`user_id` text,
	`code` text,
	`listed` integer DEFAULT true NOT NULL,
	`uses` integer DEFAULT 0 NOT NULL,
	`shared_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `template_shares_code` ON `template_shares` (`code`);--> statement-breakpoint
CREATE INDEX `template_shares_user` ON `template_shares` (`user_id`,`template_id`);