ALTER TABLE `social_profiles` ADD `released_handle_key` text;--> statement-breakpoint
ALTER TABLE `social_profiles` ADD `released_at` text;--> statement-breakpoint
CREATE INDEX `social_profiles_released_handle` ON `social_profiles` (`released_handle_key`);