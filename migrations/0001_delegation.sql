CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`agent_type` text NOT NULL,
	`capabilities` text NOT NULL,
	`max_concurrent_tasks` integer NOT NULL,
	`current_task_count` integer DEFAULT 0 NOT NULL,
	`status` text DEFAULT 'idle' NOT NULL,
	`last_claim_id` text,
	`last_active_at` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agents_agent_id_unique` ON `agents` (`agent_id`);--> statement-breakpoint
CREATE INDEX `agents_user_type_load` ON `agents` (`user_id`,`agent_type`,`current_task_count`);--> statement-breakpoint
CREATE UNIQUE INDEX `agents_last_claim_unique` ON `agents` (`last_claim_id`);--> statement-breakpoint
CREATE TABLE `task_assignments` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`task_id` text NOT NULL,
	`agent_id` text,
	`assignee` text NOT NULL,
	`role` text DEFAULT 'owner' NOT NULL,
	`delegation_mode` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`reason` text,
	`created_at` text NOT NULL,
	`accepted_at` text,
	`started_at` text,
	`completed_at` text,
	`rejected_at` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_assignments_agent_status` ON `task_assignments` (`agent_id`,`status`);--> statement-breakpoint
CREATE INDEX `task_assignments_user_task` ON `task_assignments` (`user_id`,`task_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `task_assignments_one_open` ON `task_assignments` (`task_id`,`role`) WHERE status IN ('pending', 'accepted', 'in_progress');--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `agent_id` text;