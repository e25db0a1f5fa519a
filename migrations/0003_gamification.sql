CREATE TABLE `activity_days` (
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`steps` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`user_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `badges` (
	`id` text PRIMARY KEY NOT NULL,
	`family` text NOT NULL,
	`tier` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`metric` text NOT NULL,
	`threshold` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `bonus_events` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`multiplier` real NOT NULL,
	`starts_at` text NOT NULL,
	`ends_at` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	`cancelled_at` text,
	CONSTRAINT "bonus_events_multiplier_check" CHECK("bonus_events"."multiplier" > 1 AND "bonus_events"."multiplier" <= 3)
);
--> statement-breakpoint
CREATE INDEX `bonus_events_window` ON `bonus_events` (`ends_at`,`starts_at`);--> statement-breakpoint
CREATE TABLE `challenge_progress` (
	`user_id` text NOT NULL,
	`challenge_id` text NOT NULL,
	`date` text NOT NULL,
	`progress` integer DEFAULT 0 NOT NULL,
	`completed_at` text,
	PRIMARY KEY(`user_id`, `challenge_id`)
);
--> statement-breakpoint
CREATE INDEX `challenge_progress_user_date` ON `challenge_progress` (`user_id`,`date`);--> statement-breakpoint
CREATE TABLE `daily_challenges` (
	`id` text PRIMARY KEY NOT NULL,
	`date` text NOT NULL,
	`metric` text NOT NULL,
	`target` integer NOT NULL,
	`title` text NOT NULL,
	`xp` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `daily_challenges_date` ON `daily_challenges` (`date`);--> statement-breakpoint
CREATE TABLE `gamification_stats` (
	`user_id` text PRIMARY KEY NOT NULL,
	`steps_completed` integer DEFAULT 0 NOT NULL,
	`tasks_completed` integer DEFAULT 0 NOT NULL,
	`focus_sessions` integer DEFAULT 0 NOT NULL,
	`long_focus_sessions` integer DEFAULT 0 NOT NULL,
	`morning_steps` integer DEFAULT 0 NOT NULL,
	`night_steps` integer DEFAULT 0 NOT NULL,
	`quick_wins` integer DEFAULT 0 NOT NULL,
	`challenges_completed` integer DEFAULT 0 NOT NULL,
	`pet_feeds` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user_badges` (
	`user_id` text NOT NULL,
	`badge_id` text NOT NULL,
	`unlocked_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `badge_id`)
);
--> statement-breakpoint
CREATE TABLE `user_progress` (
	`user_id` text PRIMARY KEY NOT NULL,
	`total_xp` integer DEFAULT 0 NOT NULL,
	`level` integer DEFAULT 1 NOT NULL,
	`week_start` text DEFAULT '' NOT NULL,
	`week_xp` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`leaderboard_opt_in` integer DEFAULT false NOT NULL,
	`leaderboard_name` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `xp_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`source` text NOT NULL,
	`source_key` text NOT NULL,
	`amount` integer NOT NULL,
	`breakdown` text NOT NULL,
	`event_id` text,
	`occurred_at` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `xp_ledger_user_source_key` ON `xp_ledger` (`user_id`,`source_key`);--> statement-breakpoint
CREATE INDEX `xp_ledger_user_id` ON `xp_ledger` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `xp_levels` (
	`level` integer PRIMARY KEY NOT NULL,
	`min_xp` integer NOT NULL
);

--> statement-breakpoint
-- Seed data, generated from src/features/gamification/{badges,levels}.ts (tests/gamification-seed.test.ts keeps them equal).
INSERT INTO `badges` (`id`, `family`, `tier`, `name`, `description`, `metric`, `threshold`) VALUES
  ('streak_bronze', 'streak', 'bronze', 'Spark', 'Keep a 3-day streak', 'longest_streak', 3),
  ('streak_silver', 'streak', 'silver', 'Steady Flame', 'Keep a 7-day streak', 'longest_streak', 7),
  ('streak_gold', 'streak', 'gold', 'Unstoppable', 'Keep a 30-day streak', 'longest_streak', 30),
  ('steps_bronze', 'steps', 'bronze', 'First Steps', 'Complete 10 micro-steps', 'steps_completed', 10),
  ('steps_silver', 'steps', 'silver', 'Step Climber', 'Complete 100 micro-steps', 'steps_completed', 100),
  ('steps_gold', 'steps', 'gold', 'Step Master', 'Complete 500 micro-steps', 'steps_completed', 500),
  ('tasks_bronze', 'tasks', 'bronze', 'Finisher', 'Finish 5 tasks', 'tasks_completed', 5),
  ('tasks_silver', 'tasks', 'silver', 'Closer', 'Finish 25 tasks', 'tasks_completed', 25),
  ('tasks_gold', 'tasks', 'gold', 'Completionist', 'Finish 100 tasks', 'tasks_completed', 100),
  ('focus_bronze', 'focus', 'bronze', 'Focused', 'Complete 5 focus sessions', 'focus_sessions', 5),
  ('focus_silver', 'focus', 'silver', 'In the Zone', 'Complete 25 focus sessions', 'focus_sessions', 25),
  ('focus_gold', 'focus', 'gold', 'Focus Monk', 'Complete 100 focus sessions', 'focus_sessions', 100),
  ('marathon_bronze', 'marathon', 'bronze', 'Marathon Runner', 'Complete 1 focus sessions of 50 minutes or more', 'long_focus_sessions', 1),
  ('marathon_silver', 'marathon', 'silver', 'Ultra Runner', 'Complete 10 focus sessions of 50 minutes or more', 'long_focus_sessions', 10),
  ('marathon_gold', 'marathon', 'gold', 'Iron Focus', 'Complete 50 focus sessions of 50 minutes or more', 'long_focus_sessions', 50),
  ('morning_bronze', 'morning', 'bronze', 'Early Bird', 'Complete 5 steps before 9:00', 'morning_steps', 5),
  ('morning_silver', 'morning', 'silver', 'Morning Warrior', 'Complete 25 steps before 9:00', 'morning_steps', 25),
  ('morning_gold', 'morning', 'gold', 'Dawn Legend', 'Complete 100 steps before 9:00', 'morning_steps', 100),
  ('night_bronze', 'night', 'bronze', 'Night Owl', 'Complete 5 steps between 22:00 and 4:00', 'night_steps', 5),
  ('night_silver', 'night', 'silver', 'Midnight Oil', 'Complete 25 steps between 22:00 and 4:00', 'night_steps', 25),
  ('night_gold', 'night', 'gold', 'Moonlight Maker', 'Complete 100 steps between 22:00 and 4:00', 'night_steps', 100),
  ('quick_wins_bronze', 'quick_wins', 'bronze', 'Quick Win', 'Finish 3 tasks within 24 hours of capturing them', 'quick_wins', 3),
  ('quick_wins_silver', 'quick_wins', 'silver', 'Quick-Win Streaker', 'Finish 15 tasks within 24 hours of capturing them', 'quick_wins', 15),
  ('quick_wins_gold', 'quick_wins', 'gold', 'Quick-Win Master', 'Finish 50 tasks within 24 hours of capturing them', 'quick_wins', 50),
  ('challenges_bronze', 'challenges', 'bronze', 'Challenger', 'Complete 1 daily challenges', 'challenges_completed', 1),
  ('challenges_silver', 'challenges', 'silver', 'Daily Hero', 'Complete 10 daily challenges', 'challenges_completed', 10),
  ('challenges_gold', 'challenges', 'gold', 'Challenge Champion', 'Complete 50 daily challenges', 'challenges_completed', 50),
  ('pet_bronze', 'pet', 'bronze', 'Pet Pal', 'Feed your companion 5 times', 'pet_feeds', 5),
  ('pet_silver', 'pet', 'silver', 'Caretaker', 'Feed your companion 25 times', 'pet_feeds', 25),
  ('pet_gold', 'pet', 'gold', 'Best Friend', 'Feed your companion 100 times', 'pet_feeds', 100),
  ('level_bronze', 'level', 'bronze', 'Rising', 'Reach level 5', 'level', 5),
  ('level_silver', 'level', 'silver', 'Seasoned', 'Reach level 10', 'level', 10),
  ('level_gold', 'level', 'gold', 'Veteran', 'Reach level 25', 'level', 25);
--> statement-breakpoint
INSERT INTO `xp_levels` (`level`, `min_xp`) VALUES
  (1, 0),
  (2, 150),
  (3, 310),
  (4, 480),
  (5, 660),
  (6, 860),
  (7, 1070),
  (8, 1290),
  (9, 1530),
  (10, 1780),
  (11, 2040),
  (12, 2320),
  (13, 2620),
  (14, 2930),
  (15, 3260),
  (16, 3610),
  (17, 3970),
  (18, 4350),
  (19, 4750),
  (20, 5170),
  (21, 5610),
  (22, 6070),
  (23, 6550),
  (24, 7050),
  (25, 7570),
  (26, 8120),
  (27, 8690),
  (28, 9280),
  (29, 9900),
  (30, 10540),
  (31, 11200),
  (32, 11890),
  (33, 12610),
  (34, 13350),
  (35, 14120),
  (36, 14920),
  (37, 15740),
  (38, 16590),
  (39, 17470),
  (40, 18380),
  (41, 19320),
  (42, 20290),
  (43, 21290),
  (44, 22320),
  (45, 23380),
  (46, 24480),
  (47, 25610),
  (48, 26770),
  (49, 27970),
  (50, 29200),
  (51, 30460),
  (52, 31760),
  (53, 33100),
  (54, 34470),
  (55, 35880),
  (56, 37330),
  (57, 38810),
  (58, 40330),
  (59, 41890),
  (60, 43490),
  (61, 45130),
  (62, 46810),
  (63, 48530),
  (64, 50290),
  (65, 52090),
  (66, 53940),
  (67, 55830),
  (68, 57760),
  (69, 59740),
  (70, 61760),
  (71, 63820),
  (72, 65930),
  (73, 68090),
  (74, 70290),
  (75, 72540),
  (76, 74840),
  (77, 77180),
  (78, 79570),
  (79, 82010),
  (80, 84500),
  (81, 87040),
  (82, 89630),
  (83, 92270),
  (84, 94960),
  (85, 97700),
  (86, 100500),
  (87, 103350),
  (88, 106250),
  (89, 109210),
  (90, 112220),
  (91, 115280),
  (92, 118400),
  (93, 121580),
  (94, 124810),
  (95, 128100),
  (96, 131450),
  (97, 134850),
  (98, 138310),
  (99, 141830),
  (100, 145410);
