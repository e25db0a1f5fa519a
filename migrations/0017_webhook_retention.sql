ALTER TABLE `webhook_deliveries` ADD `sends` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `last_attempt_id` text;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_closed` ON `webhook_deliveries` (`updated_at`) WHERE "webhook_deliveries"."status" IN ('succeeded', 'failed');--> statement-breakpoint
CREATE INDEX `webhook_attempts_created` ON `webhook_attempts` (`created_at`);