CREATE TABLE `focus_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`planned_minutes` integer,
	`actual_seconds` integer NOT NULL,
	`completed` integer NOT NULL,
	`end_reason` text NOT NULL,
	`interruptions` integer DEFAULT 0 NOT NULL,
	`interruption_log` text DEFAULT '[]' NOT NULL,
	`pauses` integer DEFAULT 0 NOT NULL,
	`paused_seconds` integer DEFAULT 0 NOT NULL,
	`extended_minutes` integer DEFAULT 0 NOT NULL,
	`cycle` integer DEFAULT 0 NOT NULL,
	`task_id` text,
	`step_id` text,
	`started_at` text NOT NULL,
	`ended_at` text NOT NULL,
	`created_at` text NOT NULL,
	CONSTRAINT "focus_sessions_kind_check" CHECK("focus_sessions"."kind" IN ('pomodoro','deep_work','short_burst','flowtime','custom'))
);
--> statement-breakpoint
CREATE INDEX `focus_sessions_user_id` ON `focus_sessions` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `focus_sessions_user_started` ON `focus_sessions` (`user_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `focus_settings` (
	`user_id` text PRIMARY KEY NOT NULL,
	`pomodoro_work_minutes` integer,
	`short_break_minutes` integer,
	`long_break_minutes` integer,
	`long_break_every` integer,
	`deep_work_minutes` integer,
	`short_burst_minutes` integer,
	`flowtime_break_percent` integer,
	`updated_at` text NOT NULL
);
