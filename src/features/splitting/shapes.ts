import type { LeafType, TaskCategory } from "../../db/schema/tasks";

/**
 * The local splitter's knowledge: common shapes of real-life tasks, each as ordered phases a person
 * actually goes through. Text is verb-first and may name the task's own words: {object}, {person},
 * {topic}, {phrase}; `{person|them}` falls back to "them" when nobody is named.
 *
 * A shape's phases are grouped into stages; a project-sized task becomes one sub-task per stage. The
 * first phase of every stage is a tiny "get ready" step, so starting never needs willpower.
 */

export interface Phase {
  text: string;
  /** How much of the task's time it takes, relative to its siblings; also how essential it is. */
  weight: number;
  why: string;
  leaf?: LeafType;
  /** A second round of the same work ("Write the next section …"), used when more steps are wanted. */
  repeat?: string;
  /** Kept whenever there is room: the steps after it make no sense without it. */
  essential?: boolean;
}

export interface Stage {
  title: string;
  phases: Phase[];
}

export interface Shape {
  id: string;
  /** How the reasoning names it: "a cleaning task". */
  label: string;
  category: TaskCategory;
  match: RegExp;
  /** Verbs that pick this shape before any keyword does ("book flights" is booking, not reading). */
  verbs?: RegExp;
  /** Minutes such a task usually takes, when the user has not said. */
  minutes: number;
  leaf: LeafType;
  stages: Stage[];
}

const p = (text: string, weight: number, why: string, extra: Partial<Phase> = {}): Phase => ({
  text,
  weight,
  why,
  ...extra,
});

const READY = "A tiny first move makes starting easy.";
const DONE = "Closing the loop makes it count.";

export const SHAPES: readonly Shape[] = [
  {
    id: "booking",
    label: "booking",
    category: "Personal",
    match:
      /\b(?:book|reserve|reservation)\b.*\b(?:flights?|hotel|table|train|tickets?|room|airbnb|holiday|trip|car|restaurant)\b/,
    verbs: /^(?:book|reserve)$/,
    minutes: 30,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Book {thing}",
        phases: [
          p("Open the booking site or app for {thing}", 1, READY),
          p("Write down your dates, times and budget", 2, "Limits make the choice quick.", {
            essential: true,
          }),
          p("Pick two or three options that fit", 4, "Three options, not thirty.", {
            repeat: "Look at one more option",
          }),
          p("Compare price, times and cancellation terms", 3, "The terms matter when plans change."),
          p("Book the best one and pay", 3, "Decide and commit.", { essential: true }),
          p("Save the confirmation and put it in your calendar", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "cancel",
    label: "cancelling",
    category: "Personal",
    match: /\b(?:cancel|unsubscribe|terminate)\b/,
    verbs: /^(?:cancel|unsubscribe|terminate)$/,
    minutes: 20,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Cancel {thing}",
        phases: [
          p("Find your account or contract for {thing}", 1, READY),
          p(
            "Look up the notice period and how to cancel (page, email or phone)",
            3,
            "Knowing the route avoids a second try.",
            { essential: true },
          ),
          p("Cancel it: follow the steps or send the cancellation message", 4, "The deed itself.", {
            essential: true,
          }),
          p("Save the confirmation and note the end date", 2, "Proof, in case they keep charging."),
          p("Set a reminder to check the payments really stopped", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "taxes",
    label: "tax",
    category: "Personal",
    match: /\btax(?:es)?\b|\btax return\b|\birs\b|\bhmrc\b/,
    minutes: 180,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Gather what your taxes need",
        phases: [
          p("Make a folder called “Taxes” on your desktop or a tray on your desk", 1, READY),
          p(
            "Download or find last year's return and put it in the folder",
            2,
            "Last year's return is the map.",
          ),
          p(
            "Collect income forms (W-2, 1099, payslips) into the folder",
            3,
            "Income first: everything else hangs on it.",
          ),
          p(
            "Collect receipts for deductions: medical, donations, work costs",
            3,
            "Deductions lower the bill.",
          ),
          p(
            "Write a list of anything still missing and who to ask for it",
            2,
            "Gaps named are gaps half closed.",
          ),
        ],
      },
      {
        title: "Fill in the tax return",
        phases: [
          p("Open the tax software or form and log in", 1, READY, { leaf: "DIGITAL" }),
          p("Enter your personal details and filing status", 2, "The easy part builds momentum.", {
            leaf: "DIGITAL",
          }),
          p("Enter income from each form in the folder", 4, "One form at a time keeps it small.", {
            leaf: "DIGITAL",
            repeat: "Enter the next income form",
          }),
          p("Enter deductions from the receipts you collected", 4, "Every receipt counted is money kept.", {
            leaf: "DIGITAL",
            repeat: "Enter the next batch of deductions",
          }),
        ],
      },
      {
        title: "Check and file the return",
        phases: [
          p("Open the finished return and the folder side by side", 1, READY, { leaf: "DIGITAL" }),
          p(
            "Compare the totals with last year's and note big differences",
            3,
            "Big jumps are where mistakes hide.",
            { leaf: "DIGITAL" },
          ),
          p("Submit the return and save the confirmation", 2, "Filed is the goal.", { leaf: "DIGITAL" }),
          p("Put a reminder in your calendar for any payment due", 1, DONE, { leaf: "DIGITAL" }),
        ],
      },
    ],
  },
  {
    id: "bill",
    label: "bill-paying",
    category: "Personal",
    match:
      /\b(?:pay|paying)\b.*\b(?:bill|invoice|rent|fine|ticket|fee|subscription|insurance|loan)\b|\bbills?\b|\binvoice\b/,
    minutes: 10,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Pay {object}",
        phases: [
          p("Find {thing} (email, letter or app)", 1, READY),
          p(
            "Check the amount and the due date against what you expected",
            2,
            "Catch errors before money moves.",
          ),
          p("Log in to your bank or the payment page", 2, "One login, then it is a few clicks."),
          p("Pay {object} and screenshot or save the confirmation", 3, "The confirmation is your proof."),
          p("Set up autopay or a reminder for the next one", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "inbox",
    label: "inbox",
    category: "Work",
    match:
      /\binbox\b|\b(?:clear|clean up|go through|answer|catch up on)\s+(?:my\s+|your\s+|the\s+)?e-?mails\b/,
    minutes: 30,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Get your inbox to zero",
        phases: [
          p("Open your inbox and sort it oldest first", 1, READY),
          p(
            "Archive everything older than two weeks that needs nothing from you",
            3,
            "Most old mail needs nothing: let it go.",
          ),
          p("Unsubscribe from three newsletters you never read", 2, "Fewer emails tomorrow."),
          p(
            "Answer the emails that take under two minutes",
            4,
            "Two-minute replies are cheaper to do than to track.",
            {
              repeat: "Answer the next batch of quick emails",
            },
          ),
          p(
            "Turn each bigger email into a task with a due date, then archive it",
            3,
            "A task list remembers; an inbox nags.",
          ),
          p("Close the inbox and note how many are left", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "email",
    label: "email",
    category: "Work",
    match:
      /\b(?:reply|respond|answer|email|e-mail|write back|get back to|follow up|text|whatsapp|dm)\b|\bmessage\b/,
    verbs: /^(?:email|e-mail|reply|respond|text|message|dm|ping|answer)$/,
    minutes: 12,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Reply to {person|them} about {topic|it}",
        phases: [
          p("Open the thread with {person|them} and reread the last message", 1, READY),
          p(
            "Write down in one line what {person|they} need from you about {topic|it}",
            2,
            "Knowing the ask makes the reply short.",
          ),
          p(
            "Look up the one fact or file you need to answer about {topic|it}",
            2,
            "Get the facts before wording.",
          ),
          p(
            "Draft three or four plain sentences: answer, next step, thanks",
            4,
            "Short and clear beats perfect.",
            {
              repeat: "Add the remaining details to the draft",
            },
          ),
          p("Read the draft once out loud and fix what sounds off", 2, "A quick read catches tone."),
          p("Hit send and archive the thread", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "call",
    label: "phone call",
    category: "Personal",
    match:
      /\b(?:call|phone|ring|dial)\b|\bappointment\b|\bbook\b.*\b(?:doctor|dentist|vet|haircut|appointment)\b/,
    minutes: 15,
    leaf: "HUMAN",
    stages: [
      {
        title: "Call {person|them}",
        phases: [
          p("Find the number for {person|them} and put it on screen", 1, READY),
          p("Write the two or three things you need to say or ask", 2, "A script takes away phone dread.", {
            essential: true,
          }),
          p(
            "Get your calendar and any reference numbers ready",
            1,
            "Dates and numbers are what calls ask for.",
          ),
          p(
            "Make the call to {person|them} and work through your list",
            5,
            "The call itself, with notes beside you.",
          ),
          p("Write down what was agreed and any follow-up dates", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "review",
    label: "code review",
    category: "Work",
    match: /\b(?:review|look over)\b.*\b(?:pull request|pr|code|diff|merge request|branch|changes)\b/,
    minutes: 30,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Review {thing}",
        phases: [
          p("Open {thing} and read its description", 1, READY),
          p("Check out the branch and run the tests", 2, "Green tests first, then opinions."),
          p("Read the changes file by file, noting questions as you go", 5, "Notes now, comments later.", {
            repeat: "Read the next few files",
          }),
          p("Try the change yourself once", 3, "Using it finds what reading misses."),
          p(
            "Write your comments: what works, what must change, what is optional",
            3,
            "Clear priorities make reviews kind.",
            { essential: true },
          ),
          p("Approve or request changes, and say which in one line", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "coding",
    label: "coding",
    category: "Work",
    match:
      /\b(?:code|coding|bug|debug|implement|refactor|deploy|feature|pull request|pr|unit tests?|api|endpoint|script|fix the build)\b/,
    minutes: 60,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Understand {object}",
        phases: [
          p("Open the editor and the issue or ticket for {object}", 1, READY),
          p(
            "Write what “done” means for {object} in two lines",
            2,
            "A clear finish line prevents rabbit holes.",
          ),
          p("Find the files involved and read the relevant functions", 3, "Read before you write."),
        ],
      },
      {
        title: "Build {object}",
        phases: [
          p("Create a branch and run the existing tests", 1, READY),
          p("Write one failing test that shows {object}", 3, "The test tells you when you're done."),
          p("Make the smallest change that passes the test", 5, "Small steps keep the code working.", {
            repeat: "Make the next small change and rerun the tests",
          }),
        ],
      },
      {
        title: "Ship {object}",
        phases: [
          p("Run the full test suite", 1, READY),
          p("Tidy the names and remove leftover debug output", 2, "Clean code is easier to review."),
          p("Commit with a message that says why, and open the pull request", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "chore",
    label: "household chore",
    category: "Personal",
    match:
      /\b(?:dishwasher|trash|rubbish|bins?|recycling|plants?|lawn|mow|walk the dog|feed the (?:cat|dog|fish)|litter|bed ?sheets|the bed|car|windows|gutters)\b/,
    verbs: /^(?:water|mow|walk|feed|take out|empty|unload|hoover|vacuum|mop|sweep|dust)$/,
    minutes: 10,
    leaf: "HUMAN",
    stages: [
      {
        title: "{do_phrase}",
        phases: [
          p("Get out what you need {for_phrase}", 1, READY),
          p("{do_phrase}", 5, "The chore itself, start to finish.", {
            essential: true,
            repeat: "Keep going until it is all done",
          }),
          p("Put everything back where it lives", 2, "Putting away is part of done."),
          p("Tick it off your list", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "declutter",
    label: "decluttering",
    category: "Personal",
    match:
      /\b(?:junk|drawer|closet|wardrobe|cupboard|shelf|shelves|bookshelf|bookcase|desk|backpack|handbag|purse|pantry|fridge)\b/,
    minutes: 20,
    leaf: "HUMAN",
    stages: [
      {
        title: "Sort out {object}",
        phases: [
          p("Lay a towel or clear a table next to {object}", 1, READY),
          p(
            "Empty {object} onto the towel, all of it",
            2,
            "Seeing everything at once makes decisions quick.",
            { essential: true },
          ),
          p("Throw away the obvious trash from the pile", 3, "Trash first: the quickest visible win."),
          p("Group what's left into keep, donate and belongs elsewhere", 4, "Three piles, no maybes.", {
            repeat: "Go through the next handful the same way",
          }),
          p("Wipe out the inside of {object}", 2, "A clean start for what goes back."),
          p(
            "Put the keepers back, most-used at the front",
            3,
            "What you use most should be easiest to reach.",
          ),
          p("Take the donate pile to the door and the rest to where it lives", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "clean",
    label: "cleaning",
    category: "Personal",
    match:
      /\b(?:clean|tidy|declutter|vacuum|hoover|mop|dust|scrub|wipe|sweep|sort out|organi[sz]e)\b|\b(?:dishes|mess|junk|clutter|drawer|closet|wardrobe)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Clear out {object}",
        phases: [
          p("Put on music and grab a bin bag and a box", 1, READY),
          p("Throw away obvious trash in {object}", 3, "Trash first gives the quickest visible win.", {
            repeat: "Fill the bin bag with the next batch of trash",
          }),
          p("Put things that belong elsewhere into the box", 3, "Out-of-place things are most of the mess.", {
            repeat: "Carry the box around and put each thing back where it lives",
          }),
        ],
      },
      {
        title: "Sort {object}",
        phases: [
          p("Pick one corner or shelf of {object} to start with", 1, READY),
          p(
            "Sort one corner or shelf of {object} into keep, donate and trash piles",
            4,
            "Small zones finish; whole rooms don't.",
            {
              repeat: "Sort the next corner or shelf the same way",
            },
          ),
          p("Bag the donate pile and put it by the door", 2, "Out of the room means it is really gone."),
        ],
      },
      {
        title: "Clean and finish {object}",
        phases: [
          p("Fill a bucket or grab the spray and a cloth", 1, READY),
          p(
            "Wipe down the surfaces in {object}, top to bottom",
            4,
            "Top to bottom so dust falls on what is not clean yet.",
            {
              repeat: "Wipe the next set of surfaces",
            },
          ),
          p("Sweep or vacuum the floor of {object}", 3, "The floor is the last thing dirt lands on."),
          p("Take the trash out and put the supplies away", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "laundry",
    label: "laundry",
    category: "Personal",
    match: /\blaundry\b|\bwash(?:ing)? (?:clothes|sheets|towels)\b|\bironing\b|\bfold\b/,
    minutes: 25,
    leaf: "HUMAN",
    stages: [
      {
        title: "{do_phrase}",
        phases: [
          p("Carry the laundry basket to the machine", 1, READY),
          p("Sort into darks, lights and delicates", 2, "Sorting now saves ruined clothes."),
          p("Load the first wash and start the machine", 2, "The machine works while you don't.", {
            essential: true,
          }),
          p(
            "Set a timer on your phone for when the wash ends",
            1,
            "Wet laundry forgotten is laundry redone.",
          ),
          p("Move the load to the dryer or rack", 2, "The one step that always gets forgotten.", {
            essential: true,
          }),
          p("Fold the dry clothes straight from the dryer", 4, "Folding warm is faster.", {
            repeat: "Fold the rest of the pile",
          }),
          p("Put the folded clothes away in their drawers", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "study",
    label: "studying",
    category: "Academic",
    match:
      /\b(?:study|revise|learn|memori[sz]e|exam|exams|quiz|midterm|midterms|chapter|lecture|flashcards?)\b/,
    minutes: 60,
    leaf: "HUMAN",
    stages: [
      {
        title: "Get an overview of {object}",
        phases: [
          p("Clear your desk and open {thing} to the first page", 1, READY),
          p(
            "Skim the headings and summary of {thing} to see its shape",
            3,
            "A map first makes the details stick.",
          ),
          p(
            "Write down the three questions you expect to be asked",
            2,
            "Questions turn reading into hunting.",
          ),
        ],
      },
      {
        title: "Work through {object}",
        phases: [
          p("Put your phone in another room and set a 5-minute timer", 1, READY),
          p(
            "Read the first section of {thing} and underline key terms",
            5,
            "Active reading beats rereading.",
            {
              repeat: "Read the next section and underline key terms",
            },
          ),
          p("Write each key term on a flashcard with its meaning", 4, "Writing it is the first recall."),
        ],
      },
      {
        title: "Test yourself on {object}",
        phases: [
          p("Shuffle your flashcards", 1, READY),
          p(
            "Quiz yourself with the flashcards and set aside the misses",
            4,
            "Retrieval practice is the best studying.",
            {
              repeat: "Go through the missed cards again",
            },
          ),
          p(
            "Explain the hardest idea out loud as if teaching a friend",
            3,
            "If you can teach it, you know it.",
          ),
          p("Write tomorrow's first card on top of the pile", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "homework",
    label: "homework",
    category: "Academic",
    match: /\b(?:homework|assignment|problem set|worksheet|coursework|essay question|lab report)\b/,
    minutes: 45,
    leaf: "HUMAN",
    stages: [
      {
        title: "Do {object}",
        phases: [
          p("Open {object} and read only the first question", 1, READY),
          p(
            "Circle what each question asks for and note what is due",
            2,
            "Knowing the ask prevents wasted work.",
          ),
          p("Gather the notes or textbook pages you need", 2, "Everything at hand means no getting up."),
          p("Answer the easiest question first", 4, "An early win builds momentum.", {
            repeat: "Answer the next question",
          }),
          p("Check your answers against the instructions", 2, "Lost points hide in the instructions."),
          p("Submit or pack {object} in your bag", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "cards",
    label: "card-writing",
    category: "Personal",
    match: /\b(?:cards?|postcards?|thank[- ]you notes?|invitations)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Write {thing}",
        phases: [
          p("Get out the cards, a pen and the addresses", 1, READY),
          p("List who gets one, a line each", 2, "A list keeps anyone from being forgotten.", {
            essential: true,
          }),
          p("Write one: thanks, one specific detail, your name", 4, "One true detail beats a long card.", {
            repeat: "Write the next one",
          }),
          p("Address and stamp them", 2, "Ready to post means they get posted."),
          p("Put them by the door to post", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "writing",
    label: "writing",
    category: "Work",
    match:
      /\b(?:write|draft|essay|report|article|blog|paper|proposal|thesis|chapter|letter|cover letter|newsletter|documentation|docs|speech)\b/,
    minutes: 90,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Plan {object}",
        phases: [
          p("Open a blank document and type the title of {object}", 1, READY),
          p(
            "Write one sentence: who reads {object} and what they should take away",
            2,
            "A clear point keeps the draft short.",
          ),
          p(
            "List the three to five points {object} must make as bullet headings",
            3,
            "An outline turns one big thing into small ones.",
          ),
          p(
            "Paste your notes and sources under the matching headings",
            3,
            "Sorting material now saves searching later.",
          ),
        ],
      },
      {
        title: "Draft {object}",
        phases: [
          p("Set a 5-minute timer and open the outline", 1, READY),
          p(
            "Write the first section of {object} without stopping to edit",
            5,
            "Drafting and editing at once is what stalls.",
            {
              repeat: "Write the next section without stopping to edit",
            },
          ),
          p("Write a rough introduction and conclusion", 3, "They are easier once the middle exists."),
        ],
      },
      {
        title: "Revise and send {object}",
        phases: [
          p("Read {object} from the top with a fresh cup of something", 1, READY),
          p("Cut anything that doesn't serve the main point", 3, "Shorter is clearer."),
          p("Fix spelling and formatting with the spell checker", 2, "Polish last, not first."),
          p("Send or submit {object} and note where it went", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "meeting",
    label: "meeting-prep",
    category: "Work",
    match: /\b(?:meeting|presentation|slides|deck|pitch|interview|one-on-one|1:1|standup|demo)\b/,
    minutes: 40,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Prepare {object}",
        phases: [
          p("Open the invite or brief and note when it is", 1, READY),
          p("Write the one outcome you want from it", 2, "One outcome keeps it focused."),
          p("List three points or questions to bring", 3, "Three points fit in anyone's memory."),
          p("Gather the numbers, links or files you will need", 3, "No scrambling live."),
          p(
            "Make one slide or note card per point: a title and one picture or number",
            4,
            "One idea per slide keeps people with you.",
            {
              repeat: "Make the next slide or card",
            },
          ),
          p("Run through your points out loud once, timing yourself", 3, "Saying it once makes it flow.", {
            repeat: "Run through it again, smoothing the rough parts",
          }),
          p("Put the notes where you will see them and set a reminder", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "resume",
    label: "CV",
    category: "Work",
    match: /\b(?:resume|résumé|cv|linkedin|portfolio)\b/,
    minutes: 45,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Update {thing}",
        phases: [
          p("Open your CV and save a copy with today's date", 1, READY),
          p(
            "Add your latest role or project, with one result in numbers",
            4,
            "Results are what readers look for.",
            { essential: true },
          ),
          p("Cut anything older or weaker than that", 3, "Shorter reads stronger."),
          p("Check dates, contact details and links", 2, "Small errors cost interviews."),
          p("Export it as a PDF with a clear file name", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "job",
    label: "job application",
    category: "Work",
    match: /\b(?:job|application|apply for)\b/,
    minutes: 90,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Apply for {object}",
        phases: [
          p("Open the job ad and save a copy of it", 1, READY),
          p("Highlight the three requirements that matter most", 2, "Match what they ask for."),
          p("Update your CV so those three show at the top", 4, "Recruiters skim the top third."),
          p(
            "Write a short cover note linking your experience to each requirement",
            5,
            "Specific beats generic.",
            {
              repeat: "Tighten the cover note to one page",
            },
          ),
          p("Fill in the application form", 3, "Copy from your CV to save typing."),
          p("Submit it and log the date and link in a list", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "form",
    label: "paperwork",
    category: "Personal",
    match:
      /\b(?:form|paperwork|renew|register|passport|visa|licen[cs]e|permit|claim|application|insurance|benefits|sign up|enrol|enroll)\b/,
    minutes: 30,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Complete {object}",
        phases: [
          p("Open the page or form {for_phrase}", 1, READY),
          p("Read the list of documents it asks for", 2, "Knowing what's needed avoids half-done forms."),
          p(
            "Gather your ID, numbers and documents into one place",
            3,
            "Hunting for papers mid-form is where it stalls.",
          ),
          p("Fill in the first section of the form", 4, "One section at a time.", {
            repeat: "Fill in the next section",
          }),
          p("Check every field once and attach the documents", 2, "Rejected forms cost weeks."),
          p("Submit the form and save the confirmation number", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "order",
    label: "online order",
    category: "Personal",
    match: /\b(?:order|reorder)\b/,
    verbs: /^(?:order|reorder)$/,
    minutes: 15,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Order {thing}",
        phases: [
          p("Open the shop's site or app", 1, READY),
          p(
            "Find {thing} and check the size or model against what you have",
            3,
            "The right one the first time.",
            { essential: true },
          ),
          p("Add it to the basket and check the delivery date", 2, "Dates decide between shops."),
          p("Pay and save the order confirmation", 2, "Paid and proven.", { essential: true }),
          p("Put the delivery date in your calendar", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "shopping",
    label: "shopping",
    category: "Personal",
    match: /\b(?:buy|shop|shopping|groceries|grocery|purchase|supermarket|pick up some)\b/,
    minutes: 40,
    leaf: "HUMAN",
    stages: [
      {
        title: "Shop for {object}",
        phases: [
          p("Open a notes list for the shopping", 1, READY, { leaf: "DIGITAL" }),
          p(
            "Check the fridge, cupboards or drawers and add what's missing",
            3,
            "Checking first avoids double buys.",
          ),
          p("Group the list by aisle or shop", 2, "Grouped lists halve the walking."),
          p("Grab bags, wallet and keys and go", 2, "Everything in one grab."),
          p("Buy everything on the list, ticking items off", 6, "The list decides, not the shelves."),
          p("Put everything away as soon as you're home", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "errand",
    label: "errand",
    category: "Personal",
    match:
      /\b(?:pick up|drop off|return|post office|mail|ship|package|parcel|bank|pharmacy|prescription|dry cleaning|errands?)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Run the errand: {object}",
        phases: [
          p("Check the opening hours and what you need to bring", 1, READY),
          p("Put what you need by the door, with your keys", 2, "Everything in one grab.", {
            essential: true,
          }),
          p("Put on shoes and head out", 2, "Leaving is the hardest part."),
          p("{do_phrase}", 4, "The errand itself.", { essential: true }),
          p("Take a photo of any receipt and cross it off your list", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "cooking",
    label: "cooking",
    category: "Health",
    match: /\b(?:cook|bake|dinner|lunch|breakfast|meal|meal prep|recipe)\b/,
    minutes: 45,
    leaf: "HUMAN",
    stages: [
      {
        title: "Cook {object}",
        phases: [
          p("Pick the recipe and put it where you can read it", 1, READY),
          p(
            "Take out every ingredient and tool the recipe names",
            2,
            "Everything out means no mid-recipe panic.",
          ),
          p("Wash and chop the vegetables", 4, "Prep is most of cooking.", {
            repeat: "Chop the rest of the ingredients",
          }),
          p("Start the longest-cooking part first", 3, "The oven works while you do the rest."),
          p("Cook the rest following the recipe, timer on", 5, "Timers stop burnt food."),
          p("Serve, then fill the sink with hot soapy water", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "exercise",
    label: "exercise",
    category: "Health",
    match: /\b(?:workout|exercise|gym|run|jog|yoga|stretch|walk|swim|bike|cycle|training)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Move: {object}",
        phases: [
          p("Put on your workout clothes and shoes", 1, READY),
          p("Fill a water bottle and pick a playlist", 1, "Small comforts keep you going."),
          p("Warm up for a few minutes with easy movement", 3, "Warm muscles don't get hurt."),
          p("Start {thing} at an easy pace and keep it comfortable", 6, "Comfortable is sustainable.", {
            repeat: "Do one more round at the same pace",
          }),
          p("Cool down and stretch the muscles you used", 3, "Stretching speeds recovery."),
          p("Log what you did and drink some water", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "practice",
    label: "practice",
    category: "Creative",
    match:
      /\bpractic|\bpractis|\b(?:guitar|piano|violin|cello|drums|ukulele|flute|saxophone|singing|scales|instrument)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Practise {thing}",
        phases: [
          p("Take out {thing} and tune or set it up", 1, READY),
          p("Warm up with scales or an easy piece you know", 3, "Warm-ups wake up your hands and ear."),
          p(
            "Play the hardest passage slowly, a few bars at a time",
            5,
            "Slow and right beats fast and wrong.",
            {
              repeat: "Play the next few bars slowly until they are clean",
            },
          ),
          p("Play the whole piece through once at an easy tempo", 4, "Joining the parts is its own skill."),
          p("Write down what to work on next time", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "creative",
    label: "creative",
    category: "Creative",
    match:
      /\b(?:draw|paint|sketch|design|compose|song|music|guitar|piano|practi[cs]e|knit|craft|photo|video|edit|podcast)\b/,
    minutes: 40,
    leaf: "HUMAN",
    stages: [
      {
        title: "Make {object}",
        phases: [
          p("Set out your tools for {object} and clear a space", 1, READY),
          p(
            "Look at one reference or example you like for 2 minutes",
            2,
            "Inspiration lowers the blank-page fear.",
          ),
          p("Make a rough first pass at {object} without judging it", 5, "Rough first, good later.", {
            repeat: "Do another rough pass on the part you like least",
          }),
          p("Pick the best bit and refine just that", 4, "Polish one piece fully."),
          p("Save or photograph what you made and note what to try next", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "reading",
    label: "reading",
    category: "Personal",
    match: /\b(?:read|reading|novel|article)\b/,
    minutes: 30,
    leaf: "HUMAN",
    stages: [
      {
        title: "Read {object}",
        phases: [
          p("Open the book at your bookmark and silence your phone", 1, READY),
          p("Read the next few pages", 5, "Pages, not hours.", {
            repeat: "Read the next few pages",
          }),
          p("Write one sentence about what stuck with you", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "moving",
    label: "packing",
    category: "Personal",
    match: /\b(?:move|moving|pack|packing|unpack|boxes)\b/,
    minutes: 120,
    leaf: "HUMAN",
    stages: [
      {
        title: "Pack for the move",
        phases: [
          p("Assemble two boxes and grab tape and a marker", 1, READY),
          p("Pack the things you use least first", 4, "Rarely used things won't be missed.", {
            repeat: "Fill the next box the same way",
          }),
          p("Label each box with its room and contents", 2, "Labels make unpacking easy."),
          p("Stack the full boxes by the door", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "repair",
    label: "repair",
    category: "Personal",
    match: /\b(?:fix|repair|replace|install|assemble|mount|hang|patch|leak|broken)\b/,
    minutes: 45,
    leaf: "HUMAN",
    stages: [
      {
        title: "Fix {object}",
        phases: [
          p("Look at {object} and take a photo of how it is now", 1, READY),
          p("Search for a short how-to for {object} and watch it once", 3, "Someone has fixed this before.", {
            leaf: "DIGITAL",
          }),
          p("Gather the tools and parts the how-to names", 3, "Tools at hand keep you moving."),
          p("Do the first step of the fix from the how-to", 4, "One step, then check.", {
            repeat: "Do the next step of the fix",
          }),
          p("Test that {object} works and put the tools away", 2, DONE),
        ],
      },
    ],
  },
  {
    id: "budget",
    label: "budgeting",
    category: "Personal",
    match: /\bbudget\b/,
    minutes: 40,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Make {thing}",
        phases: [
          p("Open your banking app and last month's statement", 1, READY),
          p("List fixed costs: rent, bills, subscriptions", 3, "The fixed part first; it barely moves.", {
            essential: true,
          }),
          p(
            "Add up what you spent on food, transport and fun last month",
            4,
            "Last month is the honest starting point.",
          ),
          p("Set a limit for each group", 3, "A number per group is a budget.", { essential: true }),
          p("Write the limits in a note or spreadsheet you will see", 2, "Out of your head, into view."),
          p("Set a weekly 5-minute check-in reminder", 1, DONE),
        ],
      },
    ],
  },
  {
    id: "planning",
    label: "planning",
    category: "Personal",
    match: /\b(?:plan|planning|organi[sz]e|schedule|arrange|trip|vacation|holiday|party|event)\b/,
    minutes: 60,
    leaf: "DIGITAL",
    stages: [
      {
        title: "Plan {object}",
        phases: [
          p("Open a note titled “{object}”", 1, READY),
          p("Write the date, the budget and who is involved", 2, "Constraints make choices easy."),
          p("List every piece {object} needs, one per line", 3, "A list empties your head."),
          p("Pick the piece that blocks the others and do it first", 5, "Unblock the rest.", {
            repeat: "Do the next piece on the list",
          }),
          p("Put the key dates in your calendar", 2, "Dates in the calendar become real."),
          p("Send the plan to whoever needs it", 1, DONE),
        ],
      },
    ],
  },
];

/** For anything no shape recognises: steps built from the task's own verb and object. */
export const GENERIC: Shape = {
  id: "generic",
  label: "general",
  category: "Personal",
  match: /$^/,
  minutes: 10,
  leaf: "HUMAN",
  stages: [
    {
      title: "Get going: {phrase}",
      phases: [
        p("Gather what you need {for_phrase}", 1, READY),
        p("Write one line on what “done” looks like", 2, "A visible finish line makes it finite."),
        p("List the parts in the order you'll do them", 2, "Small parts are easier to start."),
      ],
    },
    {
      title: "Do {object}",
      phases: [
        p("Set a 5-minute timer and clear your space", 1, READY),
        p("{do_phrase}", 5, "Starting is most of the battle.", {
          essential: true,
          repeat: "Keep going: {phrase}",
        }),
        p(
          "Take on the part you've been avoiding, just for a few minutes",
          4,
          "Shrinking the scary part shrinks the task.",
        ),
      ],
    },
    {
      title: "Finish: {phrase}",
      phases: [
        p("Look over what you have so far", 1, READY),
        p(
          "Check it against your “done” line and fix what's missing",
          3,
          "Finish to the line, not to perfect.",
        ),
        p("Put things away and tick it off", 1, DONE),
      ],
    },
  ],
};
