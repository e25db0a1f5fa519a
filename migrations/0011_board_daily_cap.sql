ALTER TABLE `user_progress` ADD `board_xp` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `user_progress` ADD `board_week_xp` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `user_progress` ADD `board_day` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `user_progress` ADD `board_day_xp` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- What users earned before the cap counts on the boards as it was.
UPDATE `user_progress` SET `board_xp` = `total_xp`, `board_week_xp` = `week_xp`;
