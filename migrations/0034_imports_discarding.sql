PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_imports` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`source` text NOT NULL,
	`status` text DEFAULT 'previewed' NOT NULL,
	`mode` text,
	`file_key` text,
	`part_items` integer,
	`part_starts` text,
	`resends` integer DEFAULT 0 NOT NULL,
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
	CONSTRAINT "imports_status_check" CHECK("__new_imports"."status" IN ('uploading','previewed','queued','running','completed','failed','discarding')),
	CONSTRAINT "imports_items_check" CHECK("__new_imports"."items_done" BETWEEN 0 AND "__new_imports"."items_total")
);
--> statement-breakpoint
INSERT INTO `__new_imports`("id", "user_id", "source", "status", "mode", "file_key", "part_items", "part_starts", "resends", "file_bytes", "mapping", "timezone", "preview", "items_total", "items_done", "result", "error", "created_at", "updated_at", "committed_at", "completed_at", "expires_at") SELECT "id", "user_id", "source", "status", "mode", "file_key", "part_items", "part_starts", "resends", "file_bytes", "mapping", "timezone", "preview", "items_total", "items_done", "result", "error", "created_at", "updated_at", "committed_at", "completed_at", "expires_at" FROM `imports`;--> statement-breakpoint
DROP TABLE `imports`;--> statement-breakpoint
ALTER TABLE `__new_imports` RENAME TO `imports`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `imports_user` ON `imports` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `imports_expiry` ON `imports` (`expires_at`) WHERE "imports"."expires_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `imports_active` ON `imports` (`updated_at`) WHERE "imports"."status" IN ('queued', 'running');