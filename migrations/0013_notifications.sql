CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`message_id` text NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`user_id` text,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dead_letters_message` ON `dead_letters` (`message_id`);--> statement-breakpoint
CREATE INDEX `dead_letters_source` ON `dead_letters` (`source`,`id`);--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`user_id` text PRIMARY KEY NOT NULL,
	`kinds` text NOT NULL,
	`quiet_start` text,
	`quiet_end` text,
	`daily_cap` integer NOT NULL,
	`digest` text NOT NULL,
	`due_soon_minutes` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notification_pushes` (
	`notification_id` text NOT NULL,
	`target_id` text NOT NULL,
	`channel` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_until` text,
	`claim_id` text,
	`next_attempt_at` text,
	`ticket_id` text,
	`detail` text,
	`sent_at` text,
	`receipt_checked_at` text,
	PRIMARY KEY(`notification_id`, `target_id`)
);
--> statement-breakpoint
CREATE INDEX `notification_pushes_receipts` ON `notification_pushes` (`sent_at`) WHERE "notification_pushes"."ticket_id" IS NOT NULL AND "notification_pushes"."receipt_checked_at" IS NULL;--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`key` text NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`data` text NOT NULL,
	`status` text NOT NULL,
	`in_app` integer NOT NULL,
	`channels` text NOT NULL,
	`push_state` text NOT NULL,
	`local_day` text NOT NULL,
	`counts_toward_cap` integer NOT NULL,
	`deliver_at` text NOT NULL,
	`digest_id` text,
	`enqueued_at` text NOT NULL,
	`created_at` text NOT NULL,
	`read_at` text,
	`deleted_at` text,
	CONSTRAINT "notifications_status_check" CHECK("notifications"."status" IN ('deferred','delivered','folded','digested')),
	CONSTRAINT "notifications_push_state_check" CHECK("notifications"."push_state" IN ('none','pending','done'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_user_key` ON `notifications` (`user_id`,`key`);--> statement-breakpoint
CREATE INDEX `notifications_inbox` ON `notifications` (`user_id`,`created_at`,`id`) WHERE "notifications"."status" = 'delivered' AND "notifications"."in_app" = 1 AND "notifications"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `notifications_unread` ON `notifications` (`user_id`) WHERE "notifications"."read_at" IS NULL AND "notifications"."status" = 'delivered' AND "notifications"."in_app" = 1 AND "notifications"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `notifications_cap` ON `notifications` (`user_id`,`local_day`) WHERE "notifications"."counts_toward_cap" = 1;--> statement-breakpoint
CREATE INDEX `notifications_deferred` ON `notifications` (`deliver_at`) WHERE "notifications"."status" = 'deferred';--> statement-breakpoint
CREATE INDEX `notifications_folded` ON `notifications` (`deliver_at`,`user_id`) WHERE "notifications"."status" = 'folded';--> statement-breakpoint
CREATE INDEX `notifications_push_pending` ON `notifications` (`created_at`) WHERE "notifications"."push_state" = 'pending';--> statement-breakpoint
CREATE INDEX `notifications_digest` ON `notifications` (`digest_id`) WHERE "notifications"."digest_id" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `push_devices` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`expo_push_token` text NOT NULL,
	`platform` text NOT NULL,
	`created_at` text NOT NULL,
	`last_success_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_devices_token` ON `push_devices` (`expo_push_token`);--> statement-breakpoint
CREATE INDEX `push_devices_user` ON `push_devices` (`user_id`);--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`endpoint` text NOT NULL,
	`p256dh` text NOT NULL,
	`auth` text NOT NULL,
	`user_agent` text,
	`created_at` text NOT NULL,
	`last_success_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_subscriptions_endpoint` ON `push_subscriptions` (`endpoint`);--> statement-breakpoint
CREATE INDEX `push_subscriptions_user` ON `push_subscriptions` (`user_id`);--> statement-breakpoint
CREATE TABLE `reminder_claims` (
	`task_id` text NOT NULL,
	`offset_minutes` integer NOT NULL,
	`due_at` text NOT NULL,
	`user_id` text NOT NULL,
	`claimed_at` text NOT NULL,
	`enqueued_at` text,
	PRIMARY KEY(`task_id`, `offset_minutes`, `due_at`)
);
--> statement-breakpoint
CREATE INDEX `reminder_claims_unsent` ON `reminder_claims` (`claimed_at`) WHERE "reminder_claims"."enqueued_at" IS NULL;--> statement-breakpoint
CREATE INDEX `tasks_open_due` ON `tasks` (`due_at`) WHERE "tasks"."due_at" IS NOT NULL AND "tasks"."deleted_at" IS NULL AND "tasks"."status" IN ('pending','in_progress','blocked');