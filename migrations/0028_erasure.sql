ALTER TABLE `users` ADD `deleting_at` text;--> statement-breakpoint
CREATE INDEX `users_deleting` ON `users` (`deleting_at`) WHERE "users"."deleting_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `events_manual_grants` ON `events` (`type`) WHERE "events"."type" = 'xp.manual';--> statement-breakpoint
CREATE INDEX `bonus_events_created_by` ON `bonus_events` (`created_by`);--> statement-breakpoint
CREATE INDEX `dead_letters_user` ON `dead_letters` (`user_id`);--> statement-breakpoint
CREATE INDEX `notification_pushes_user` ON `notification_pushes` (`user_id`);--> statement-breakpoint
CREATE INDEX `reminder_claims_user` ON `reminder_claims` (`user_id`);--> statement-breakpoint
CREATE INDEX `webhook_attempts_user` ON `webhook_attempts` (`user_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_user` ON `webhook_deliveries` (`user_id`);