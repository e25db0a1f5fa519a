CREATE TABLE `assignment_notes` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`assignment_id` text NOT NULL,
	`author` text NOT NULL,
	`text` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `assignment_notes_user_assignment` ON `assignment_notes` (`user_id`,`assignment_id`,`id`);--> statement-breakpoint
CREATE TABLE `room_members` (
	`room_id` text NOT NULL,
	`user_id` text NOT NULL,
	`member_id` text NOT NULL,
	`display_name` text NOT NULL,
	`share_task` integer DEFAULT false NOT NULL,
	`sync_pomodoro` integer DEFAULT false NOT NULL,
	`joined_at` text NOT NULL,
	PRIMARY KEY(`room_id`, `user_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `room_members_member_id` ON `room_members` (`member_id`);--> statement-breakpoint
CREATE INDEX `room_members_user` ON `room_members` (`user_id`,`room_id`);--> statement-breakpoint
CREATE TABLE `rooms` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`code` text NOT NULL,
	`code_key` text NOT NULL,
	`max_members` integer NOT NULL,
	`sync_pomodoro` integer DEFAULT false NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`created_at` text NOT NULL,
	`closed_at` text,
	CONSTRAINT "rooms_max_members" CHECK("rooms"."max_members" BETWEEN 2 AND 20)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rooms_open_code` ON `rooms` (`code_key`) WHERE status = 'open';