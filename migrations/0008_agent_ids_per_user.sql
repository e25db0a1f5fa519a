DROP INDEX `agents_agent_id_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `agents_user_agent_unique` ON `agents` (`user_id`,`agent_id`);--> statement-breakpoint
DROP INDEX `task_assignments_agent_status`;--> statement-breakpoint
CREATE INDEX `task_assignments_user_agent_status` ON `task_assignments` (`user_id`,`agent_id`,`status`);