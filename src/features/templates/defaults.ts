import type { LeafType, TaskCategory } from "../../db/schema/tasks";

/**
 * The platform's own public templates (user_id NULL). migrations/0006_task_shaping.sql inserts the
 * same rows; a test checks that D1 and this list agree, so change both together (in a new migration
 * once 0006 has shipped).
 *
 * Steps are concrete and verb-first, each 2–5 minutes, and the first is always a tiny "get ready" move
 * so that starting needs no willpower.
 */

export interface DefaultTemplateStep {
  description: string;
  short_label: string;
  estimated_minutes: number;
  leaf_type: LeafType;
  icon: string | null;
}

export interface DefaultTemplate {
  id: string;
  name: string;
  description: string;
  category: TaskCategory;
  icon: string;
  steps: readonly DefaultTemplateStep[];
}

/** When the defaults were written: their created_at and updated_at. */
export const DEFAULT_TEMPLATES_CREATED_AT = "2026-11-24T00:00:00.000Z";

const step = (
  description: string,
  short_label: string,
  estimated_minutes: number,
  leaf_type: LeafType = "HUMAN",
): DefaultTemplateStep => ({ description, short_label, estimated_minutes, leaf_type, icon: null });

export const DEFAULT_TEMPLATES: readonly DefaultTemplate[] = [
  {
    id: "tpl_homework_assignment",
    name: "Homework assignment",
    description: "Get a school assignment from blank page to handed in, one small question at a time.",
    category: "Academic",
    icon: "📚",
    steps: [
      step("Open the assignment and read the first question", "Open it", 2, "DIGITAL"),
      step("Put your notes, book and a drink on the desk", "Set up", 2),
      step("Write a rough answer to the first question, messy is fine", "First answer", 5),
      step("Answer the next question, or mark it to ask about later", "Next question", 5),
      step("Read your answers once and fix anything unclear", "Check", 4),
      step("Hand it in or upload it, and note that it is done", "Hand in", 2, "DIGITAL"),
    ],
  },
  {
    id: "tpl_email_inbox_zero",
    name: "Email inbox zero",
    description: "Empty the inbox in short passes: delete, reply, or park every message.",
    category: "Work",
    icon: "📥",
    steps: [
      step("Open your inbox and sort it oldest first", "Open inbox", 2, "DIGITAL"),
      step("Delete or archive everything you do not need to act on", "Clear noise", 4, "DIGITAL"),
      step("Reply to every message that takes under two minutes", "Quick replies", 5, "DIGITAL"),
      step("Turn each bigger request into a task and archive the email", "Park big ones", 4, "DIGITAL"),
      step("Unsubscribe from two newsletters you never read", "Unsubscribe", 2, "DIGITAL"),
      step("Close the inbox and write down the one reply still owed", "Close it", 2),
    ],
  },
  {
    id: "tpl_clean_the_kitchen",
    name: "Clean the kitchen",
    description: "A kitchen reset in short bursts, from the counters down to the floor.",
    category: "Personal",
    icon: "🧽",
    steps: [
      step("Put on music and fill the sink with hot soapy water", "Get ready", 2),
      step("Clear the counters: put away food and gather the dishes by the sink", "Clear counters", 4),
      step("Load the dishwasher or wash the dishes", "Dishes", 5),
      step("Wipe the counters and the stove top", "Wipe", 4),
      step("Take out the trash and put in a new bag", "Trash", 2),
      step("Sweep the floor", "Sweep", 4),
    ],
  },
  {
    id: "tpl_pay_a_bill",
    name: "Pay a bill",
    description: "Pay one bill and keep the proof, before the due date sneaks up.",
    category: "Personal",
    icon: "💳",
    steps: [
      step("Find the bill and put it in front of you", "Find bill", 2),
      step("Check the amount and the due date", "Check amount", 2),
      step("Log in to your bank or the payee's website", "Log in", 3, "DIGITAL"),
      step("Enter the payment and submit it", "Pay", 3, "DIGITAL"),
      step("Save or screenshot the confirmation", "Save proof", 2, "DIGITAL"),
      step("File the bill, or set a reminder for the next one", "File it", 2),
    ],
  },
  {
    id: "tpl_write_a_report",
    name: "Write a report",
    description: "Go from a blank document to a sent report: outline, draft, tidy, send.",
    category: "Work",
    icon: "📝",
    steps: [
      step("Open a new document and type the report's title", "Open doc", 2, "DIGITAL"),
      step("List the three to five points the report must make", "Key points", 4, "DIGITAL"),
      step("Gather the numbers, links or notes each point needs", "Gather facts", 5, "DIGITAL"),
      step("Write a rough paragraph for the first point", "First paragraph", 5, "DIGITAL"),
      step("Write a rough paragraph for each remaining point", "Other points", 5, "DIGITAL"),
      step("Add a two-sentence summary at the top", "Summary", 3, "DIGITAL"),
      step("Read it once aloud and fix what sounds wrong", "Proofread", 5),
      step("Send it or share it, and note who has it", "Send", 2, "DIGITAL"),
    ],
  },
  {
    id: "tpl_book_a_doctor_appointment",
    name: "Book a doctor's appointment",
    description: "Get from meaning to call the doctor to an appointment in your calendar.",
    category: "Health",
    icon: "🩺",
    steps: [
      step("Find the practice's phone number or booking page", "Find number", 2, "DIGITAL"),
      step("Write down why you are going and two times that suit you", "Note reason", 3),
      step("Call or book online and pick a slot", "Book", 5),
      step("Put the appointment in your calendar with a reminder", "Calendar", 2, "DIGITAL"),
      step("Write down what to bring: card, list of medicines, questions", "What to bring", 3),
    ],
  },
  {
    id: "tpl_creative_session",
    name: "Start a creative session",
    description: "Make something for a short while without waiting for inspiration.",
    category: "Creative",
    icon: "🎨",
    steps: [
      step("Set out your tools: sketchbook, instrument or a blank page", "Set out tools", 2),
      step("Pick one small thing to make today and write it down", "Pick a focus", 2),
      step("Warm up for three minutes, no judging allowed", "Warm up", 3),
      step("Work on the piece for five minutes", "Make", 5),
      step("Keep going for five more minutes, or stop happily", "Keep going", 5),
      step("Put it somewhere you will see it next time", "Save it", 2),
    ],
  },
];
