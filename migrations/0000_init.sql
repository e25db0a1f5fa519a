CREATE TABLE `event_receipts` (
	`event_id` text NOT NULL,
	`handler` text NOT NULL,
	`processed_at` text NOT NULL,
	PRIMARY KEY(`event_id`, `handler`)
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	`occurred_at` text NOT NULL,
	`send_attempts` integer DEFAULT 0 NOT NULL,
	`last_sent_at` text,
	`delivered_at` text
);
--> statement-breakpoint
CREATE INDEX `events_undelivered` ON `events` (`delivered_at`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `events_user` ON `events` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `user_activity_stats` (
	`user_id` text PRIMARY KEY NOT NULL,
	`tasks_created` integer DEFAULT 0 NOT NULL,
	`tasks_completed` integer DEFAULT 0 NOT NULL,
	`steps_completed` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`user_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`response_body` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `micro_steps` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`user_id` text NOT NULL,
	`position` integer NOT NULL,
	`description` text NOT NULL,
	`short_label` text,
	`icon` text,
	`estimated_minutes` integer NOT NULL,
	`leaf_type` text DEFAULT 'HUMAN' NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`completed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "micro_steps_minutes_check" CHECK("micro_steps"."estimated_minutes" BETWEEN 1 AND 10)
);
--> statement-breakpoint
CREATE INDEX `micro_steps_task_position` ON `micro_steps` (`task_id`,`position`);--> statement-breakpoint
CREATE INDEX `micro_steps_user` ON `micro_steps` (`user_id`,`status`);--> statement-breakpoint
CREATE TABLE `task_dependencies` (
	`task_id` text NOT NULL,
	`depends_on_id` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`task_id`, `depends_on_id`)
);
--> statement-breakpoint
CREATE INDEX `task_dependencies_target` ON `task_dependencies` (`depends_on_id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`priority` text DEFAULT 'medium' NOT NULL,
	`estimated_minutes` integer,
	`actual_minutes` integer,
	`due_at` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`delegation_mode` text DEFAULT 'DO' NOT NULL,
	`assigned_to` text,
	`agent_type` text,
	`is_meta_task` integer DEFAULT false NOT NULL,
	`task_source` text DEFAULT 'user' NOT NULL,
	`completed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	CONSTRAINT "tasks_status_check" CHECK("tasks"."status" IN ('pending','in_progress','blocked','completed','cancelled')),
	CONSTRAINT "tasks_priority_check" CHECK("tasks"."priority" IN ('low','medium','high','critical')),
	CONSTRAINT "tasks_delegation_check" CHECK("tasks"."delegation_mode" IN ('DO','DO_WITH_ME','DELEGATE','DELETE'))
);
--> statement-breakpoint
CREATE INDEX `tasks_user_id` ON `tasks` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_user_status` ON `tasks` (`user_id`,`status`);--> statement-breakpoint
CREATE INDEX `tasks_user_due` ON `tasks` (`user_id`,`due_at`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`token_prefix` text NOT NULL,
	`scopes` text NOT NULL,
	`expires_at` text,
	`last_used_at` text,
	`created_at` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user` ON `api_tokens` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `login_throttles` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`window_started_at` integer NOT NULL,
	`locked_until` integer
);
--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`family_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`expires_at` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text,
	`replaced_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `refresh_tokens_hash_unique` ON `refresh_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_user_family` ON `refresh_tokens` (`user_id`,`family_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`display_name` text,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);