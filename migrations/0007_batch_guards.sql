CREATE TABLE `batch_guards` (
	`reason` text NOT NULL
);
