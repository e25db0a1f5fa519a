CREATE TABLE `split_preferences` (
	`user_id` text NOT NULL,
	`category` text NOT NULL,
	`step_minutes` real NOT NULL,
	`step_count` real NOT NULL,
	`just_right` integer DEFAULT 0 NOT NULL,
	`too_large` integer DEFAULT 0 NOT NULL,
	`too_small` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `category`)
);
--> statement-breakpoint
CREATE TABLE `step_feedback` (
	`user_id` text NOT NULL,
	`step_id` text NOT NULL,
	`task_id` text NOT NULL,
	`category` text NOT NULL,
	`rating` text NOT NULL,
	`estimated_minutes` integer NOT NULL,
	`actual_minutes` integer,
	`energy` text,
	`step_count` integer NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`user_id`, `step_id`),
	CONSTRAINT "step_feedback_rating_check" CHECK("step_feedback"."rating" IN ('too_large','too_small','just_right'))
);
--> statement-breakpoint
CREATE INDEX `step_feedback_user_category` ON `step_feedback` (`user_id`,`category`,`created_at`);--> statement-breakpoint
CREATE TABLE `task_splits` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`task_id` text NOT NULL,
	`step_id` text,
	`method` text NOT NULL,
	`scope` text NOT NULL,
	`category` text NOT NULL,
	`applied` integer DEFAULT false NOT NULL,
	`result` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_splits_user_task` ON `task_splits` (`user_id`,`task_id`,`id`);--> statement-breakpoint
CREATE TABLE `task_templates` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text,
	`name` text NOT NULL,
	`description` text,
	`category` text NOT NULL,
	`icon` text,
	`is_public` integer DEFAULT false NOT NULL,
	`times_applied` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "task_templates_category_check" CHECK("task_templates"."category" IN ('Academic','Work','Personal','Health','Creative'))
);
--> statement-breakpoint
CREATE INDEX `task_templates_user` ON `task_templates` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `task_templates_public` ON `task_templates` (`is_public`,`id`);--> statement-breakpoint
CREATE TABLE `template_steps` (
	`id` text PRIMARY KEY NOT NULL,
	`template_id` text NOT NULL,
	`position` integer NOT NULL,
	`description` text NOT NULL,
	`short_label` text,
	`estimated_minutes` integer NOT NULL,
	`leaf_type` text DEFAULT 'HUMAN' NOT NULL,
	`icon` text,
	CONSTRAINT "template_steps_minutes_check" CHECK("template_steps"."estimated_minutes" BETWEEN 1 AND 10)
);
--> statement-breakpoint
CREATE INDEX `template_steps_template` ON `template_steps` (`template_id`,`position`);--> statement-breakpoint
ALTER TABLE `tasks` ADD `category` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `parent_task_id` text;--> statement-breakpoint
CREATE INDEX `tasks_user_parent` ON `tasks` (`user_id`,`parent_task_id`);--> statement-breakpoint
-- The platform's own public templates (src/features/templates/defaults.ts holds the same list).
INSERT INTO `task_templates` (`id`, `user_id`, `name`, `description`, `category`, `icon`, `is_public`, `times_applied`, `created_at`, `updated_at`) VALUES
  ('tpl_homework_assignment', NULL, 'Homework assignment', 'Get a school assignment from blank page to handed in, one small question at a time.', 'Academic', '📚', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_email_inbox_zero', NULL, 'Email inbox zero', 'Empty the inbox in short passes: delete, reply, or park every message.', 'Work', '📥', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_clean_the_kitchen', NULL, 'Clean the kitchen', 'A kitchen reset in short bursts, from the counters down to the floor.', 'Personal', '🧽', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_pay_a_bill', NULL, 'Pay a bill', 'Pay one bill and keep the proof, before the due date sneaks up.', 'Personal', '💳', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_write_a_report', NULL, 'Write a report', 'Go from a blank document to a sent report: outline, draft, tidy, send.', 'Work', '📝', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_book_a_doctor_appointment', NULL, 'Book a doctor''s appointment', 'Get from meaning to call the doctor to an appointment in your calendar.', 'Health', '🩺', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z'),
  ('tpl_creative_session', NULL, 'Start a creative session', 'Make something for a short while without waiting for inspiration.', 'Creative', '🎨', 1, 0, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z');
--> statement-breakpoint
INSERT INTO `template_steps` (`id`, `template_id`, `position`, `description`, `short_label`, `estimated_minutes`, `leaf_type`, `icon`) VALUES
  ('tpl_homework_assignment_1', 'tpl_homework_assignment', 1, 'Open the assignment and read the first question', 'Open it', 2, 'DIGITAL', NULL),
  ('tpl_homework_assignment_2', 'tpl_homework_assignment', 2, 'Put your notes, book and a drink on the desk', 'Set up', 2, 'HUMAN', NULL),
  ('tpl_homework_assignment_3', 'tpl_homework_assignment', 3, 'Write a rough answer to the first question, messy is fine', 'First answer', 5, 'HUMAN', NULL),
  ('tpl_homework_assignment_4', 'tpl_homework_assignment', 4, 'Answer the next question, or mark it to ask about later', 'Next question', 5, 'HUMAN', NULL),
  ('tpl_homework_assignment_5', 'tpl_homework_assignment', 5, 'Read your answers once and fix anything unclear', 'Check', 4, 'HUMAN', NULL),
  ('tpl_homework_assignment_6', 'tpl_homework_assignment', 6, 'Hand it in or upload it, and note that it is done', 'Hand in', 2, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_1', 'tpl_email_inbox_zero', 1, 'Open your inbox and sort it oldest first', 'Open inbox', 2, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_2', 'tpl_email_inbox_zero', 2, 'Delete or archive everything you do not need to act on', 'Clear noise', 4, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_3', 'tpl_email_inbox_zero', 3, 'Reply to every message that takes under two minutes', 'Quick replies', 5, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_4', 'tpl_email_inbox_zero', 4, 'Turn each bigger request into a task and archive the email', 'Park big ones', 4, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_5', 'tpl_email_inbox_zero', 5, 'Unsubscribe from two newsletters you never read', 'Unsubscribe', 2, 'DIGITAL', NULL),
  ('tpl_email_inbox_zero_6', 'tpl_email_inbox_zero', 6, 'Close the inbox and write down the one reply still owed', 'Close it', 2, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_1', 'tpl_clean_the_kitchen', 1, 'Put on music and fill the sink with hot soapy water', 'Get ready', 2, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_2', 'tpl_clean_the_kitchen', 2, 'Clear the counters: put away food and gather the dishes by the sink', 'Clear counters', 4, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_3', 'tpl_clean_the_kitchen', 3, 'Load the dishwasher or wash the dishes', 'Dishes', 5, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_4', 'tpl_clean_the_kitchen', 4, 'Wipe the counters and the stove top', 'Wipe', 4, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_5', 'tpl_clean_the_kitchen', 5, 'Take out the trash and put in a new bag', 'Trash', 2, 'HUMAN', NULL),
  ('tpl_clean_the_kitchen_6', 'tpl_clean_the_kitchen', 6, 'Sweep the floor', 'Sweep', 4, 'HUMAN', NULL),
  ('tpl_pay_a_bill_1', 'tpl_pay_a_bill', 1, 'Find the bill and put it in front of you', 'Find bill', 2, 'HUMAN', NULL),
  ('tpl_pay_a_bill_2', 'tpl_pay_a_bill', 2, 'Check the amount and the due date', 'Check amount', 2, 'HUMAN', NULL),
  ('tpl_pay_a_bill_3', 'tpl_pay_a_bill', 3, 'Log in to your bank or the payee''s website', 'Log in', 3, 'DIGITAL', NULL),
  ('tpl_pay_a_bill_4', 'tpl_pay_a_bill', 4, 'Enter the payment and submit it', 'Pay', 3, 'DIGITAL', NULL),
  ('tpl_pay_a_bill_5', 'tpl_pay_a_bill', 5, 'Save or screenshot the confirmation', 'Save proof', 2, 'DIGITAL', NULL),
  ('tpl_pay_a_bill_6', 'tpl_pay_a_bill', 6, 'File the bill, or set a reminder for the next one', 'File it', 2, 'HUMAN', NULL),
  ('tpl_write_a_report_1', 'tpl_write_a_report', 1, 'Open a new document and type the report''s title', 'Open doc', 2, 'DIGITAL', NULL),
  ('tpl_write_a_report_2', 'tpl_write_a_report', 2, 'List the three to five points the report must make', 'Key points', 4, 'DIGITAL', NULL),
  ('tpl_write_a_report_3', 'tpl_write_a_report', 3, 'Gather the numbers, links or notes each point needs', 'Gather facts', 5, 'DIGITAL', NULL),
  ('tpl_write_a_report_4', 'tpl_write_a_report', 4, 'Write a rough paragraph for the first point', 'First paragraph', 5, 'DIGITAL', NULL),
  ('tpl_write_a_report_5', 'tpl_write_a_report', 5, 'Write a rough paragraph for each remaining point', 'Other points', 5, 'DIGITAL', NULL),
  ('tpl_write_a_report_6', 'tpl_write_a_report', 6, 'Add a two-sentence summary at the top', 'Summary', 3, 'DIGITAL', NULL),
  ('tpl_write_a_report_7', 'tpl_write_a_report', 7, 'Read it once aloud and fix what sounds wrong', 'Proofread', 5, 'HUMAN', NULL),
  ('tpl_write_a_report_8', 'tpl_write_a_report', 8, 'Send it or share it, and note who has it', 'Send', 2, 'DIGITAL', NULL),
  ('tpl_book_a_doctor_appointment_1', 'tpl_book_a_doctor_appointment', 1, 'Find the practice''s phone number or booking page', 'Find number', 2, 'DIGITAL', NULL),
  ('tpl_book_a_doctor_appointment_2', 'tpl_book_a_doctor_appointment', 2, 'Write down why you are going and two times that suit you', 'Note reason', 3, 'HUMAN', NULL),
  ('tpl_book_a_doctor_appointment_3', 'tpl_book_a_doctor_appointment', 3, 'Call or book online and pick a slot', 'Book', 5, 'HUMAN', NULL),
  ('tpl_book_a_doctor_appointment_4', 'tpl_book_a_doctor_appointment', 4, 'Put the appointment in your calendar with a reminder', 'Calendar', 2, 'DIGITAL', NULL),
  ('tpl_book_a_doctor_appointment_5', 'tpl_book_a_doctor_appointment', 5, 'Write down what to bring: card, list of medicines, questions', 'What to bring', 3, 'HUMAN', NULL),
  ('tpl_creative_session_1', 'tpl_creative_session', 1, 'Set out your tools: sketchbook, instrument or a blank page', 'Set out tools', 2, 'HUMAN', NULL),
  ('tpl_creative_session_2', 'tpl_creative_session', 2, 'Pick one small thing to make today and write it down', 'Pick a focus', 2, 'HUMAN', NULL),
  ('tpl_creative_session_3', 'tpl_creative_session', 3, 'Warm up for three minutes, no judging allowed', 'Warm up', 3, 'HUMAN', NULL),
  ('tpl_creative_session_4', 'tpl_creative_session', 4, 'Work on the piece for five minutes', 'Make', 5, 'HUMAN', NULL),
  ('tpl_creative_session_5', 'tpl_creative_session', 5, 'Keep going for five more minutes, or stop happily', 'Keep going', 5, 'HUMAN', NULL),
  ('tpl_creative_session_6', 'tpl_creative_session', 6, 'Put it somewhere you will see it next time', 'Save it', 2, 'HUMAN', NULL);
