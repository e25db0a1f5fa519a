ALTER TABLE `imports` ADD `part_items` integer;--> statement-breakpoint
ALTER TABLE `imports` ADD `resends` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `imports_active` ON `imports` (`updated_at`) WHERE "imports"."status" IN ('queued', 'running');