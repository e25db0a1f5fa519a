CREATE TABLE `analytics_rollups` (
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`dim` text NOT NULL,
	`key` text DEFAULT '' NOT NULL,
	`tasks_created` integer DEFAULT 0 NOT NULL,
	`tasks_completed` integer DEFAULT 0 NOT NULL,
	`steps_completed` integer DEFAULT 0 NOT NULL,
	`xp` integer DEFAULT 0 NOT NULL,
	`focus_seconds` integer DEFAULT 0 NOT NULL,
	`focus_sessions` integer DEFAULT 0 NOT NULL,
	`focus_completed` integer DEFAULT 0 NOT NULL,
	`interruptions` integer DEFAULT 0 NOT NULL,
	`energy_low` integer DEFAULT 0 NOT NULL,
	`energy_medium` integer DEFAULT 0 NOT NULL,
	`energy_high` integer DEFAULT 0 NOT NULL,
	`timed_tasks` integer DEFAULT 0 NOT NULL,
	`estimated_minutes` integer DEFAULT 0 NOT NULL,
	`actual_minutes` integer DEFAULT 0 NOT NULL,
	`on_time_tasks` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `day`, `dim`, `key`),
	CONSTRAINT "analytics_rollups_dim_check" CHECK("analytics_rollups"."dim" IN ('all','hour','category','energy'))
);
--> statement-breakpoint
CREATE INDEX `analytics_rollups_active` ON `analytics_rollups` (`day`,`user_id`) WHERE "analytics_rollups"."dim" = 'all';--> statement-breakpoint
CREATE TABLE `analytics_task_times` (
	`user_id` text NOT NULL,
	`task_id` text NOT NULL,
	`category` text,
	`estimated_minutes` integer,
	`steps_completed` integer DEFAULT 0 NOT NULL,
	`step_minutes` integer DEFAULT 0 NOT NULL,
	`focus_seconds` integer DEFAULT 0 NOT NULL,
	`focus_sessions` integer DEFAULT 0 NOT NULL,
	`reported_minutes` integer,
	`completed_at` text,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `task_id`)
);
--> statement-breakpoint
CREATE INDEX `analytics_task_times_user_completed` ON `analytics_task_times` (`user_id`,`completed_at`);--> statement-breakpoint
CREATE TABLE `energy_checkins` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`level` text NOT NULL,
	`at` text NOT NULL,
	`created_at` text NOT NULL,
	CONSTRAINT "energy_checkins_level_check" CHECK("energy_checkins"."level" IN ('low','medium','high'))
);
--> statement-breakpoint
CREATE INDEX `energy_checkins_user_at` ON `energy_checkins` (`user_id`,`at`);--> statement-breakpoint
CREATE TABLE `learning_models` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`version` integer NOT NULL,
	`algorithm` text NOT NULL,
	`params` text NOT NULL,
	`metrics` text NOT NULL,
	`promoted` integer DEFAULT false NOT NULL,
	`train_samples` integer NOT NULL,
	`test_samples` integer NOT NULL,
	`trained_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `learning_models_user_kind_version` ON `learning_models` (`user_id`,`kind`,`version`);--> statement-breakpoint
CREATE INDEX `learning_models_promoted` ON `learning_models` (`user_id`,`kind`) WHERE "learning_models"."promoted" = 1;--> statement-breakpoint
CREATE TABLE `learning_runs` (
	`user_id` text NOT NULL,
	`night` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`training_ms` real,
	`detail` text,
	`queued_at` text NOT NULL,
	`finished_at` text,
	PRIMARY KEY(`user_id`, `night`)
);
--> statement-breakpoint
CREATE TABLE `prediction_log` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`model_id` text NOT NULL,
	`predicted` real NOT NULL,
	`actual` real,
	`abs_error` real,
	`created_at` text NOT NULL,
	`scored_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `prediction_log_subject_model` ON `prediction_log` (`user_id`,`kind`,`subject`,`model_id`);--> statement-breakpoint
ALTER TABLE `task_splits` ADD `energy` text;--> statement-breakpoint
ALTER TABLE `task_splits` ADD `difficulty` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `category_source` text;--> statement-breakpoint
CREATE INDEX `xp_ledger_event` ON `xp_ledger` (`event_id`);