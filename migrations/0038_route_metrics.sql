CREATE TABLE `route_metrics` (
	`id` text PRIMARY KEY NOT NULL,
	`minute` integer NOT NULL,
	`route` text NOT NULL,
	`method` text NOT NULL,
	`status_class` text NOT NULL,
	`count` integer NOT NULL,
	`total_ms` real NOT NULL,
	`max_ms` real NOT NULL,
	`histogram` text NOT NULL,
	`statements` integer NOT NULL,
	`rows_read` integer NOT NULL,
	`rows_written` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `route_metrics_minute` ON `route_metrics` (`minute`);--> statement-breakpoint
CREATE TABLE `slow_queries` (
	`id` text PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`route` text NOT NULL,
	`method` text NOT NULL,
	`sql` text NOT NULL,
	`duration_ms` real NOT NULL,
	`rows_read` integer NOT NULL,
	`rows_written` integer NOT NULL,
	`request_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `slow_queries_at` ON `slow_queries` (`at`);