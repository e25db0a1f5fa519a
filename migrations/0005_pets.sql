CREATE TABLE `pet_interactions` (
	`id` text PRIMARY KEY NOT NULL,
	`pet_id` text NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`xp` integer DEFAULT 0 NOT NULL,
	`hunger_delta` real DEFAULT 0 NOT NULL,
	`happiness_delta` real DEFAULT 0 NOT NULL,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pet_interactions_user_id` ON `pet_interactions` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `user_pets` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`species` text NOT NULL,
	`name` text NOT NULL,
	`seed` text NOT NULL,
	`level` integer DEFAULT 1 NOT NULL,
	`xp` integer DEFAULT 0 NOT NULL,
	`total_xp` integer DEFAULT 0 NOT NULL,
	`evolution_stage` integer DEFAULT 1 NOT NULL,
	`hunger` real NOT NULL,
	`happiness` real NOT NULL,
	`stats_at` text NOT NULL,
	`treats` integer DEFAULT 0 NOT NULL,
	`needs_attention` integer DEFAULT false NOT NULL,
	`auto_evolve` integer DEFAULT true NOT NULL,
	`personality` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "user_pets_species_check" CHECK("user_pets"."species" IN ('dog','cat','dragon','owl','fox')),
	CONSTRAINT "user_pets_level_check" CHECK("user_pets"."level" BETWEEN 1 AND 50)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_pets_user_unique` ON `user_pets` (`user_id`);