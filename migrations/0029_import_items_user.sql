DROP INDEX `import_items_external`;--> statement-breakpoint
CREATE INDEX `import_items_user` ON `import_items` (`user_id`,`source`,`external_id`);