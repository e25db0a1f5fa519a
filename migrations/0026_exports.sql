CREATE TABLE `exports` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`format` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`r2_key` text NOT NULL,
	`rows_total` integer,
	`rows_written` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`cursor` text,
	`upload_id` text,
	`live` text,
	`slice` integer DEFAULT 0 NOT NULL,
	`lease_id` text,
	`lease_until` integer,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`started_at` text,
	`completed_at` text,
	`expires_at` text,
	CONSTRAINT "exports_format_check" CHECK("exports"."format" IN ('json','csv')),
	CONSTRAINT "exports_status_check" CHECK("exports"."status" IN ('queued','running','completed','failed','expired'))
);
--> statement-breakpoint
CREATE INDEX `exports_user` ON `exports` (`user_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `exports_one_active` ON `exports` (`user_id`) WHERE "exports"."status" IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX `exports_expiring` ON `exports` (`expires_at`) WHERE "exports"."status" = 'completed';--> statement-breakpoint
CREATE INDEX `exports_stalled` ON `exports` (`updated_at`) WHERE "exports"."status" IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX `micro_steps_user_id` ON `micro_steps` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `task_dependencies_user` ON `task_dependencies` (`user_id`,`task_id`,`depends_on_id`);