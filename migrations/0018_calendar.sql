CREATE TABLE `calendar_feed_items` (
	`user_id` text NOT NULL,
	`uid` text NOT NULL,
	`content_hash` text NOT NULL,
	`sequence` integer DEFAULT 0 NOT NULL,
	`changed_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `uid`)
);
--> statement-breakpoint
CREATE TABLE `calendar_feeds` (
	`user_id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`etag` text,
	`modified_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `calendar_feeds_token_hash` ON `calendar_feeds` (`token_hash`);--> statement-breakpoint
CREATE TABLE `calendar_imports` (
	`user_id` text NOT NULL,
	`uid` text NOT NULL,
	`recurrence_key` text DEFAULT '' NOT NULL,
	`task_id` text NOT NULL,
	`content_hash` text NOT NULL,
	`sequence` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `uid`, `recurrence_key`)
);
