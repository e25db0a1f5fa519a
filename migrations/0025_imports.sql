CREATE TABLE `import_items` (
	`import_id` text NOT NULL,
	`ref` text NOT NULL,
	`user_id` text NOT NULL,
	`source` text NOT NULL,
	`external_id` text,
	`task_id` text NOT NULL,
	`outcome` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`import_id`, `ref`),
	CONSTRAINT "import_items_outcome_check" CHECK("import_items"."outcome" IN ('created','duplicate'))
);
--> statement-breakpoint
CREATE INDEX `import_items_external` ON `import_items` (`user_id`,`source`,`external_id`) WHERE "import_items"."external_id" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`source` text NOT NULL,
	`status` text DEFAULT 'previewed' NOT NULL,
	`mode` text,
	`file_key` text,
	`file_bytes` integer NOT NULL,
	`mapping` text,
	`timezone` text NOT NULL,
	`preview` text NOT NULL,
	`items_total` integer NOT NULL,
	`items_done` integer DEFAULT 0 NOT NULL,
	`result` text,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`committed_at` text,
	`completed_at` text,
	`expires_at` text,
	CONSTRAINT "imports_status_check" CHECK("imports"."status" IN ('previewed','queued','running','completed','failed')),
	CONSTRAINT "imports_items_check" CHECK("imports"."items_done" BETWEEN 0 AND "imports"."items_total")
);
--> statement-breakpoint
CREATE INDEX `imports_user` ON `imports` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `imports_expiry` ON `imports` (`expires_at`) WHERE "imports"."expires_at" IS NOT NULL;