CREATE TABLE `account_guards` (
	`account` text NOT NULL
);
