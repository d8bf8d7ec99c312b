// The analyser's word lists and the table they are merged into.
//
// Terms are written in the scanner's token form: lower case, words separated by one space,
// hyphens as spaces ("sign in" matches "sign-in"), and '%', '#' and '$' as words of their
// own ("% off" matches "20% off", "ticket #" matches "Ticket #4471"; '£' and '€' read as
// '$'). A phrase also scores its words, so "claim your prize" adds to "claim": weights are
// chosen with that in mind.
//
// Category weights: about 1 for a word that leans towards a category, 2-2.5 for one that is
// typical of it, 3-5 for one that nearly decides it ("itinerary", "unsubscribe" is only 1.5
// because promotions carry it too). The analyser calls a category "other" when the best
// total is under 2.5, so one typical word in the body is not enough on its own.
// Urgency values: 3+ for words that alone make a mail urgent ("asap", "outage"), 1 for
// "important", negative for "no rush". Sentiment values: 0.5 (weak) to 2 (strong).
//
// The table: each term and each proper prefix of a phrase gets an Entry; an open-addressing
// array of (hash tag, index) slots, at most half full, finds it with one or two probes.
// About 1,400 entries; 4096 slots of 8 bytes.

#include "analyser/lexicon.hpp"

#include <algorithm>
#include <bit>
#include <unordered_map>

namespace mp::analyser::lexicon {

namespace {

struct Weighted {
  std::string_view text;
  float weight;
};

struct Flagged {
  std::string_view text;
  std::uint32_t flags;
};

// The tables read best as tables.
// clang-format off
// Category terms: what is typical of each category (file comment: the weight scale).
constexpr Weighted k_work[] = {
    {"meeting", 2}, {"meetings", 2}, {"project", 2}, {"projects", 1.5}, {"deadline", 1.5}, {"report", 1.5},
    {"reports", 1.5}, {"colleague", 2}, {"colleagues", 2}, {"team", 1.5}, {"client", 1.5}, {"clients", 1.5},
    {"quarterly", 1.5}, {"q1", 1.5}, {"q2", 1.5}, {"q3", 1.5}, {"q4", 1.5}, {"agenda", 2.5}, {"slides", 2},
    {"deck", 1}, {"presentation", 2}, {"draft", 1.5}, {"proposal", 2}, {"budget", 1}, {"sprint", 2.5},
    {"roadmap", 2.5}, {"stakeholders", 2.5}, {"stakeholder", 2.5}, {"deliverable", 2.5},
    {"deliverables", 2.5}, {"kpi", 2}, {"kpis", 2}, {"manager", 1.5}, {"onboarding", 1.5}, {"standup", 2.5},
    {"sync", 1.5}, {"action items", 2}, {"follow up", 1}, {"review", 1}, {"code review", 2.5},
    {"pull request", 2.5}, {"deploy", 2}, {"deployment", 2}, {"release", 1.5}, {"office", 1.5},
    {"conference room", 2.5}, {"one on one", 2}, {"quarter", 1}, {"revenue", 1}, {"launch", 1.5},
    {"milestone", 2}, {"timeline", 1.5}, {"spreadsheet", 2}, {"contract", 1.5}, {"vendor", 1.5},
    {"interview", 1.5}, {"candidate", 1.5}, {"hiring", 1.5}, {"workshop", 1.5}, {"offsite", 2.5},
    {"all hands", 2.5}, {"memo", 1.5}, {"minutes", 1}, {"feedback", 1}, {"approval", 1}, {"sign off", 1.5},
    {"dashboard", 1}, {"metrics", 1}, {"production", 1}, {"staging", 2}, {"repo", 2}, {"jira", 2.5},
    {"status update", 2}, {"department", 1.5}, {"director", 1}, {"engineering", 1.5}, {"docs", 1},
    {"document", 1}, {"shared drive", 2}, {"attached", 0.5}, {"next steps", 1.5}, {"pto", 2},
    {"time off", 1.5}, {"migration", 1.5}, {"customer", 0.5}, {"the team", 1}, {"work", 1},
    {"workstream", 2.5}, {"headcount", 2.5}, {"okrs", 2.5}, {"retro", 2}, {"retrospective", 2.5},
    {"board", 1}, {"ceo", 1}, {"analysis", 1}, {"findings", 1}, {"hr", 1}, {"policy", 0.5}, {"benefits", 0.5},
    {"performance review", 2}, {"offer letter", 1}, {"expense report", 2}, {"sales", 0.5}, {"pipeline", 0.5},
    {"forecast", 1.5}, {"invoice approval", 1}, {"planning", 1.5}, {"kickoff", 2.5}, {"kick off", 1.5},
};
constexpr Weighted k_personal[] = {
    {"family", 2.5}, {"friends", 2}, {"friend", 1.5}, {"weekend", 2}, {"dinner", 2}, {"birthday", 3},
    {"mom", 3}, {"dad", 3}, {"mum", 3}, {"sister", 2.5}, {"brother", 2.5}, {"kids", 2}, {"love", 1.5},
    {"party", 1.5}, {"bbq", 2.5}, {"barbecue", 2.5}, {"wedding", 2.5}, {"miss you", 3}, {"catch up", 1.5},
    {"hugs", 3}, {"xoxo", 3}, {"grandma", 3}, {"grandpa", 3}, {"cousin", 2.5}, {"baby", 1.5}, {"visit", 1},
    {"holidays", 1.5}, {"christmas", 1.5}, {"thanksgiving", 2}, {"picnic", 2.5}, {"movie", 1.5},
    {"game night", 2.5}, {"see you soon", 1.5}, {"how are you", 1.5}, {"how have you been", 2.5},
    {"aunt", 2.5}, {"uncle", 2.5}, {"daughter", 2}, {"son", 2}, {"wife", 2}, {"husband", 2}, {"lunch", 0.5},
    {"brunch", 2.5}, {"drinks", 1.5}, {"beer", 1.5}, {"wine", 1}, {"pizza", 1.5}, {"cake", 2},
    {"photos", 1.5}, {"pictures", 1.5}, {"dog", 1.5}, {"puppy", 2}, {"our place", 2}, {"your place", 2},
    {"love you", 3}, {"take care", 1.5}, {"anniversary", 2}, {"congrats", 1}, {"happy birthday", 2},
    {"camping", 2}, {"hike", 2}, {"hiking", 2}, {"concert", 2}, {"fun", 1}, {"honey", 2}, {"can't wait", 1.5},
    {"recipe", 2}, {"neighbor", 1.5}, {"neighbour", 1.5}, {"see you", 1}, {"this weekend", 1},
    {"saturday", 0.5}, {"sunday", 0.5}, {"mother", 2}, {"father", 2}, {"parents", 2}, {"grandkids", 3},
    {"nephew", 2.5}, {"niece", 2.5}, {"house", 0.5}, {"garden", 1.5}, {"bring", 0.5}, {"potluck", 3},
    {"sleepover", 3}, {"playdate", 3}, {"soccer practice", 3}, {"school", 1}, {"cat", 1}, {"kitchen", 1},
    {"moving", 0.5},
};
constexpr Weighted k_newsletter[] = {
    {"newsletter", 4}, {"newsletters", 3}, {"digest", 4}, {"unsubscribe", 1.5}, {"this week", 1},
    {"this week's", 2}, {"weekly", 1.5}, {"monthly", 1.5}, {"edition", 2.5}, {"in this issue", 4},
    {"this issue", 2}, {"issue #", 2}, {"read more", 2}, {"top stories", 4}, {"stories", 1.5},
    {"articles", 2}, {"article", 1.5}, {"subscribers", 2.5}, {"subscriber", 2}, {"subscribed", 1.5},
    {"curated", 2.5}, {"roundup", 3}, {"round up", 2}, {"headlines", 3}, {"podcast", 2}, {"episode", 1.5},
    {"blog", 2}, {"monthly update", 2}, {"latest posts", 3}, {"trends", 1.5}, {"insights", 1.5}, {"essay", 2},
    {"writers", 1.5}, {"forwarded this email", 2}, {"share this", 1.5}, {"editor", 1.5}, {"editor's", 2},
    {"highlights", 1.5}, {"community", 1}, {"tips", 1}, {"news", 1.5}, {"recap", 1.5}, {"reading list", 2.5},
    {"long read", 2}, {"links", 1}, {"from the blog", 3}, {"substack", 3}, {"what we're reading", 3},
    {"the week in", 3}, {"this month's", 2}, {"readers", 2}, {"webinar", 1}, {"interview with", 1.5},
    {"we covered", 2}, {"worth reading", 3}, {"roundtable", 1}, {"announcements", 1}, {"tutorial", 1.5},
    {"release notes", 1.5}, {"changelog", 1.5},
};
constexpr Weighted k_promotion[] = {
    {"% off", 3.5}, {"sale", 2.5}, {"limited time", 3}, {"coupon", 3.5}, {"promo code", 3.5}, {"promo", 2.5},
    {"use code", 3}, {"discount", 3}, {"discounts", 3}, {"deal", 2}, {"deals", 2.5}, {"shop", 2},
    {"shop now", 3.5}, {"free shipping", 3.5}, {"offer", 1.5}, {"offers", 1.5}, {"exclusive", 1.5},
    {"save", 1.5}, {"save up to", 3}, {"savings", 2}, {"buy", 1.5}, {"clearance", 3.5}, {"black friday", 3.5},
    {"cyber monday", 3.5}, {"new arrivals", 3.5}, {"collection", 1.5}, {"order now", 2.5}, {"expires", 1},
    {"ends tonight", 2.5}, {"ends soon", 2.5}, {"members only", 2}, {"flash sale", 3}, {"bogo", 3.5},
    {"cart", 2.5}, {"checkout", 1}, {"best sellers", 3}, {"bestsellers", 3}, {"gift guide", 3},
    {"treat yourself", 3}, {"don't miss", 1.5}, {"last chance", 2}, {"while supplies last", 3.5},
    {"off everything", 3}, {"sitewide", 3.5}, {"storewide", 3.5}, {"early access", 2}, {"rewards", 1.5},
    {"points", 1}, {"loyalty", 1.5}, {"unsubscribe", 1}, {"price", 1.5}, {"prices", 1.5}, {"lowest price", 3},
    {"free trial", 2.5}, {"just for you", 2}, {"handpicked", 2}, {"new season", 2.5}, {"arrivals", 1.5},
    {"order today", 2}, {"shop the", 2}, {"hurry", 1.5}, {"sneak peek", 2}, {"upgrade", 1}, {"$", 0.5},
    {"off your", 2}, {"your first order", 2.5}, {"subscribe and save", 3}, {"bundle", 2}, {"brands", 1.5},
    {"styles", 2}, {"deal of the day", 3}, {"today only", 3}, {"doorbuster", 3.5}, {"markdown", 2},
    {"markdowns", 3}, {"restocked", 3}, {"back in stock", 3.5}, {"wishlist", 3}, {"promotion", 2},
    {"promotional", 2.5}, {"member", 1}, {"members", 1}, {"reward", 1.5}, {"double points", 3},
    {"this week only", 3}, {"valid until", 1.5}, {"terms and conditions apply", 2}, {"ships free", 2.5},
};
constexpr Weighted k_notification[] = {
    {"your account", 1.5}, {"password reset", 3.5}, {"reset your password", 3.5}, {"password", 1.5},
    {"notification", 3}, {"notifications", 2.5}, {"alert", 1.5}, {"alerts", 1.5}, {"security alert", 3},
    {"sign in", 1.5}, {"signed in", 2}, {"new sign in", 3}, {"new login", 3}, {"login", 1.5},
    {"verification code", 3.5}, {"security code", 3}, {"code is", 1.5}, {"shipped", 3}, {"has shipped", 3},
    {"your order", 2}, {"delivered", 2.5}, {"tracking number", 3.5}, {"out for delivery", 4}, {"package", 2},
    {"reminder", 1.5}, {"automated message", 3.5}, {"do not reply", 2.5}, {"automatically generated", 3.5},
    {"this is an automated", 3}, {"settings", 1.5}, {"you have a new", 2}, {"mentioned you", 3.5},
    {"commented", 2.5}, {"new comment", 3}, {"new follower", 3.5}, {"followed you", 3}, {"subscription", 1.5},
    {"renews", 2}, {"renewal", 1.5}, {"will expire", 1.5}, {"storage", 2}, {"activity", 1.5}, {"device", 2},
    {"was changed", 2.5}, {"has been changed", 2.5}, {"has been updated", 2}, {"confirm your email", 3},
    {"verify your email", 3}, {"welcome to", 1.5}, {"you requested", 2.5}, {"if you did not", 2.5},
    {"if you didn't", 2.5}, {"if this was you", 3}, {"wasn't you", 2.5}, {"ignore this email", 2.5},
    {"invitation", 1}, {"status", 1}, {"update available", 2.5}, {"build failed", 3}, {"workflow", 1},
    {"run failed", 2.5}, {"order #", 2.5}, {"order number", 2.5}, {"estimated delivery", 3.5},
    {"arriving", 2}, {"backup", 1.5}, {"scheduled maintenance", 2.5}, {"profile", 1.5}, {"friend request", 3},
    {"liked your", 3}, {"tagged you", 3}, {"your post", 2}, {"repository", 1.5}, {"merged", 1.5},
    {"two factor", 2.5}, {"2fa", 2.5}, {"sign in attempt", 3}, {"browser", 1}, {"location", 1}, {"app", 1},
    {"expires in", 1.5}, {"passcode", 3}, {"account settings", 2.5}, {"no longer", 0.5},
    {"is now available", 2}, {"out of office", 3}, {"out of the office", 3}, {"automatic reply", 3.5},
    {"auto reply", 3.5}, {"limited access to email", 2.5}, {"when i return", 1.5}, {"calendar", 0.5},
    {"accepted", 1}, {"event", 0.5}, {"confirmed", 0.5},
};
constexpr Weighted k_finance[] = {
    {"invoice", 3.5}, {"invoices", 3}, {"payment", 2.5}, {"payments", 2}, {"statement", 2.5},
    {"statements", 2.5}, {"transaction", 3}, {"transactions", 3}, {"$", 1.2}, {"amount", 1.5},
    {"amount due", 3}, {"payment due", 3}, {"due", 0.5}, {"balance", 2.5}, {"account ending", 3},
    {"ending in", 2}, {"bank", 2.5}, {"banking", 2.5}, {"credit", 1.5}, {"credit card", 2.5}, {"debit", 2},
    {"direct deposit", 3.5}, {"deposit", 2}, {"refund", 2}, {"refunded", 2}, {"receipt", 2.5}, {"billing", 3},
    {"bill", 2}, {"bills", 2}, {"tax", 2.5}, {"taxes", 2.5}, {"tax return", 3.5}, {"irs", 3},
    {"transfer", 1.5}, {"payroll", 3}, {"salary", 2}, {"expense", 2}, {"expenses", 2}, {"reimbursement", 2.5},
    {"purchase order", 3}, {"overdue", 2}, {"past due", 3}, {"minimum payment", 4}, {"autopay", 4},
    {"auto pay", 3}, {"charge", 1.5}, {"charged", 2}, {"fee", 1.5}, {"fees", 1.5}, {"interest", 1.5},
    {"apr", 2}, {"loan", 2.5}, {"mortgage", 3}, {"investment", 2}, {"portfolio", 2.5}, {"dividend", 3},
    {"401 k", 3}, {"401k", 3}, {"account balance", 2}, {"available balance", 3}, {"withdrawal", 2.5},
    {"wire transfer", 1}, {"venmo", 2}, {"paypal", 2}, {"net 30", 3}, {"remittance", 3},
    {"accounts payable", 3.5}, {"accounts receivable", 3.5}, {"paid", 1.5}, {"pay", 1}, {"usd", 2},
    {"total", 1}, {"subtotal", 2}, {"insurance", 1.5}, {"premium", 1}, {"policy number", 2},
    {"quarterly statement", 2}, {"financial", 2}, {"finance", 2}, {"accounting", 2.5}, {"bookkeeping", 3},
    {"ledger", 3}, {"pending", 1}, {"posted", 1}, {"funds", 1}, {"checking", 1.5}, {"savings account", 3},
    {"budget", 0.5}, {"cost", 0.5}, {"price", 0.3},
};
constexpr Weighted k_travel[] = {
    {"flight", 3.5}, {"flights", 3}, {"boarding", 3}, {"boarding pass", 3}, {"itinerary", 3.5},
    {"hotel", 3.5}, {"hotels", 2.5}, {"reservation", 2.5}, {"reservations", 2}, {"check in", 1.5},
    {"airline", 3.5}, {"airport", 3.5}, {"gate", 1.5}, {"departure", 3}, {"departs", 3}, {"arrival", 2},
    {"arrives", 1.5}, {"seat", 1.5}, {"baggage", 3.5}, {"luggage", 3}, {"passport", 2.5},
    {"confirmation number", 1.5}, {"booking", 2.5}, {"booked", 1.5}, {"car rental", 3.5}, {"rental", 1.5},
    {"trip", 2.5}, {"your trip", 2.5}, {"layover", 3.5}, {"terminal", 2.5}, {"frequent flyer", 3.5},
    {"miles", 1}, {"train", 2}, {"round trip", 3}, {"destination", 2}, {"resort", 3}, {"airbnb", 3},
    {"stay", 1.5}, {"your stay", 3}, {"nights", 1.5}, {"guest", 1}, {"room", 1}, {"pnr", 3}, {"e ticket", 3},
    {"flight number", 3}, {"seat assignment", 3}, {"carry on", 3}, {"tsa", 3}, {"cruise", 3},
    {"vacation", 1.5}, {"travel", 3}, {"travelers", 2.5}, {"traveler", 2.5}, {"passengers", 3},
    {"passenger", 3}, {"depart", 2.5}, {"rebooked", 3}, {"taxi", 1.5}, {"shuttle", 2}, {"amtrak", 3},
    {"check out", 0.5}, {"boarding time", 3}, {"lounge", 2}, {"visa", 1}, {"jet lag", 3}, {"sightseeing", 3},
    {"tour", 1.5}, {"ferry", 3}, {"cabin", 1.5}, {"fare", 2},
};
constexpr Weighted k_support[] = {
    {"ticket #", 3.5}, {"ticket", 1.5}, {"tickets", 1.5}, {"support", 2.5}, {"case #", 3.5},
    {"case number", 3.5}, {"case", 1}, {"issue", 1}, {"issues", 1}, {"help desk", 3.5}, {"helpdesk", 3.5},
    {"customer service", 3}, {"customer support", 3.5}, {"support team", 3.5}, {"resolved", 2},
    {"request #", 3}, {"request number", 3}, {"troubleshooting", 3}, {"troubleshoot", 3},
    {"sorry for the inconvenience", 2.5}, {"we apologize", 2}, {"agent", 1.5}, {"escalated", 2},
    {"escalate", 1.5}, {"reported", 1}, {"not working", 1.5}, {"your request", 2.5},
    {"technical support", 3.5}, {"knowledge base", 3}, {"reopen", 2.5}, {"reply above this line", 4},
    {"support ticket", 2}, {"thank you for contacting", 3.5}, {"thanks for contacting", 3.5},
    {"thanks for reaching out", 2}, {"we're looking into", 2.5}, {"looking into", 1}, {"workaround", 2.5},
    {"steps to reproduce", 3}, {"error message", 2}, {"error", 1}, {"help center", 3}, {"assist", 1.5},
    {"assistance", 1.5}, {"inquiry", 2}, {"enquiry", 2}, {"been assigned", 2}, {"status of your", 2},
    {"replacement", 1.5}, {"warranty", 2.5}, {"rma", 3}, {"rate your experience", 2.5},
    {"how did we do", 2.5}, {"live chat", 2}, {"clear your cache", 3}, {"reinstall", 2.5}, {"logs", 1},
    {"bug", 1}, {"crash", 1}, {"crashes", 1.5}, {"customer care", 3}, {"support agent", 3}, {"your case", 3},
    {"your ticket", 3}, {"contacting us", 2.5}, {"resolution", 2}, {"defective", 2.5}, {"doesn't work", 1.5},
};
constexpr Weighted k_spam[] = {
    {"winner", 4}, {"winners", 3}, {"you have won", 4.5}, {"you've won", 4.5}, {"you have been selected", 4},
    {"claim your prize", 5}, {"claim your", 2}, {"prize", 3}, {"lottery", 4.5}, {"wire transfer", 2.5},
    {"verify your account", 2}, {"inheritance", 4.5}, {"beneficiary", 3.5}, {"million dollars", 4},
    {"100 % free", 3}, {"risk free", 3}, {"act now", 3}, {"click here", 1.5}, {"congratulations", 1},
    {"dear friend", 3.5}, {"dear customer", 1.5}, {"dear beneficiary", 5}, {"bitcoin", 2.5}, {"crypto", 2},
    {"investment opportunity", 4}, {"guaranteed", 2.5}, {"guarantee", 1.5}, {"viagra", 5}, {"prince", 2},
    {"bank details", 3.5}, {"social security", 2}, {"will be suspended", 2.5}, {"will be closed", 2},
    {"unclaimed", 3.5}, {"urgent response", 3}, {"confidential", 1}, {"claim", 1.5}, {"cash", 2},
    {"free money", 4}, {"no cost", 2}, {"double your", 4}, {"western union", 4.5}, {"moneygram", 4},
    {"gift card", 1.5}, {"processing fee", 4}, {"dear sir", 2.5}, {"sir madam", 3}, {"barrister", 4},
    {"next of kin", 4}, {"diplomat", 3}, {"consignment", 3.5}, {"funds", 1.5}, {"million", 2},
    {"compensation", 2}, {"miracle", 3}, {"weight loss", 3.5}, {"lose weight", 3.5}, {"earn money", 3.5},
    {"work from home", 2.5}, {"make money", 3.5}, {"cash prize", 4}, {"login details", 3},
    {"confirm your identity", 2.5}, {"update your billing", 2.5}, {"rolex", 4}, {"replica", 4}, {"casino", 4},
    {"jackpot", 4}, {"won", 1.5}, {"prize money", 4}, {"payout", 2}, {"kindly", 1.5}, {"reply with your", 3},
    {"full name", 1.5}, {"date of birth", 1.5}, {"your details", 1.5}, {"selected", 1}, {"100 %", 1},
    {"free", 0.5}, {"cheap", 2}, {"pills", 3.5}, {"meds", 2}, {"singles", 3}, {"hot singles", 4},
    {"once in a lifetime", 3}, {"secret", 1}, {"cure", 2}, {"bonus", 1}, {"earn", 1}, {"per week", 1},
    {"from home", 1}, {"opportunity", 1}, {"restricted", 1}, {"permanently", 1},
};

struct CategoryTable {
  Category category;
  std::span<const Weighted> terms;
};
constexpr CategoryTable k_category_tables[] = {
    {Category::work, k_work},
    {Category::personal, k_personal},
    {Category::newsletter, k_newsletter},
    {Category::promotion, k_promotion},
    {Category::notification, k_notification},
    {Category::finance, k_finance},
    {Category::travel, k_travel},
    {Category::support, k_support},
    {Category::spam, k_spam},
};

// Urgency: positive pushes towards urgent, negative towards low.
constexpr Weighted k_urgency[] = {
    {"urgent", 3}, {"urgently", 3}, {"asap", 3.5}, {"immediately", 2.5}, {"immediate", 2}, {"critical", 2.5},
    {"outage", 3.5}, {"emergency", 3.5}, {"as soon as possible", 3}, {"right away", 2.5}, {"eod", 1.5},
    {"eod today", 1.5}, {"end of day", 1.5}, {"today", 1}, {"tonight", 1}, {"time sensitive", 2.5},
    {"important", 1}, {"priority", 1}, {"high priority", 2}, {"top priority", 2}, {"deadline", 1},
    {"overdue", 1.5}, {"past due", 1}, {"final notice", 2}, {"tomorrow", 0.5}, {"blocker", 2.5},
    {"blocking", 1.5}, {"is down", 3}, {"are down", 3}, {"went down", 2.5}, {"sev1", 3.5}, {"sev 1", 3.5},
    {"p1", 3}, {"p0", 3.5}, {"incident", 2}, {"breach", 3}, {"suspicious", 1.5}, {"security", 0.5},
    {"action required", 2}, {"response required", 2}, {"required", 0.5}, {"escalation", 1.5},
    {"escalated", 1.5}, {"failing", 1.5}, {"failed", 1}, {"failure", 1.5}, {"quickly", 1}, {"soon", 0.5},
    {"no rush", -3}, {"no hurry", -3}, {"fyi", -1.5}, {"whenever", -1.5}, {"low priority", -3},
    {"when you get a chance", -2}, {"when you have a chance", -2}, {"no action needed", -2},
    {"at your convenience", -2}, {"next month", -1}, {"next week", -0.5}, {"unauthorized", 1.5},
    {"right now", 1},
};

// Sentiment: positive and negative words; a negator within three words before flips them.
constexpr Weighted k_sentiment[] = {
    {"thanks", 0.5}, {"thank", 0.5}, {"great", 1}, {"good", 0.7}, {"excellent", 1.5}, {"amazing", 1.5},
    {"awesome", 1.5}, {"happy", 1}, {"glad", 1}, {"love", 1.5}, {"wonderful", 1.5}, {"fantastic", 1.5},
    {"pleased", 1}, {"appreciate", 1}, {"appreciated", 1}, {"congratulations", 1.5}, {"congrats", 1.5},
    {"excited", 1.2}, {"perfect", 1}, {"enjoy", 0.8}, {"enjoyed", 1}, {"success", 1}, {"successful", 1},
    {"nice", 0.8}, {"welcome", 0.5}, {"delighted", 1.5}, {"brilliant", 1.5}, {"helpful", 1}, {"fun", 1},
    {"beautiful", 1}, {"proud", 1}, {"impressive", 1.2}, {"well done", 1.5}, {"great job", 1},
    {"thrilled", 1.5}, {"lovely", 1.2}, {"grateful", 1.2}, {"best", 0.5}, {"win", 0.5}, {"smoothly", 1},
    {"problem", -0.8}, {"problems", -0.8}, {"issue", -0.4}, {"sorry", -0.7}, {"bad", -1}, {"terrible", -1.5},
    {"awful", -1.5}, {"disappointed", -1.5}, {"angry", -1.5}, {"frustrated", -1.5}, {"frustrating", -1.5},
    {"unhappy", -1.5}, {"fail", -1}, {"failed", -1}, {"failure", -1.2}, {"error", -0.7}, {"broken", -1},
    {"delay", -0.7}, {"delayed", -0.8}, {"late", -0.5}, {"cancelled", -0.8}, {"canceled", -0.8},
    {"worried", -1}, {"concern", -0.7}, {"concerned", -1}, {"complaint", -1.2}, {"wrong", -1}, {"poor", -1},
    {"worst", -1.5}, {"hate", -1.5}, {"annoyed", -1.3}, {"outage", -1}, {"declined", -1}, {"overdue", -0.8},
    {"suspended", -1}, {"not working", -1}, {"unacceptable", -2}, {"regret", -1}, {"sad", -1.2},
    {"upset", -1.3}, {"missed", -0.5}, {"damaged", -1}, {"lost", -0.7}, {"crash", -1}, {"mistake", -1},
    {"urgent", -0.3}, {"down", -0.3}, {"blocked", -0.8}, {"disappointing", -1.5}, {"unfortunately", -2},
    {"furious", -2}, {"ridiculous", -1.5}, {"refund", -0.3}, {"suspicious", -0.8},
};

constexpr std::uint32_t k_request = f_request;
constexpr std::uint32_t k_question_request = f_request | f_you;
constexpr Flagged k_flags[] = {
    // asking the reader to do something
    {"could you", k_question_request}, {"can you", k_question_request}, {"would you", k_question_request},
    {"will you", k_question_request}, {"need you to", k_question_request},
    {"needs you to", k_question_request}, {"i need", k_request}, {"we need", k_request},
    {"make sure", k_request}, {"don't forget", k_request}, {"do not forget", k_request},
    {"remember to", k_request}, {"be sure to", k_request}, {"would you mind", k_request},
    {"are you able to", k_request}, {"you need to", k_request}, {"you must", k_request},
    {"if you could", k_request}, {"i'd like you to", k_request}, {"appreciate it if you", k_request},
    {"you should", k_request}, {"please", f_please}, {"pls", f_please}, {"plz", f_please},
    {"kindly", f_please}, {"let me know", f_please | f_reply}, {"let us know", f_please | f_reply},
    // looks like a request, is courtesy
    {"please find", f_not_request}, {"please note", f_not_request}, {"please see", f_not_request},
    {"please ignore", f_not_request}, {"please disregard", f_not_request}, {"feel free", f_not_request},
    {"if you have any questions", f_not_request}, {"if you need anything", f_not_request},
    {"don't hesitate", f_not_request}, {"do not hesitate", f_not_request}, {"please contact", f_not_request},
    {"please visit", f_not_request}, {"if you have questions", f_not_request},
    {"please enjoy", f_not_request},
    // asking for an answer
    {"please reply", f_reply}, {"please respond", f_reply}, {"please confirm", f_reply},
    {"can you confirm", f_reply}, {"could you confirm", f_reply}, {"get back to me", f_reply},
    {"get back to us", f_reply}, {"rsvp", f_reply}, {"your thoughts", f_reply},
    {"what do you think", f_reply}, {"thoughts", f_reply}, {"please advise", f_reply},
    {"are you available", f_reply}, {"are you free", f_reply}, {"does that work", f_reply},
    {"would that work", f_reply}, {"keep me posted", f_reply}, {"hear from you", f_reply},
    {"any update", f_reply}, {"any updates", f_reply}, {"your feedback", f_reply}, {"your comments", f_reply},
    {"your view", f_reply}, {"your input", f_reply}, {"let me know what you think", f_reply},
    // no answer expected
    {"fyi", f_no_reply}, {"no need to reply", f_no_reply}, {"no need to respond", f_no_reply},
    {"no reply needed", f_no_reply}, {"no response needed", f_no_reply}, {"no action needed", f_no_reply},
    {"no action required", f_no_reply}, {"for your information", f_no_reply},
    {"for your records", f_no_reply},
    // footers and legal text
    {"unsubscribe", f_boiler}, {"privacy policy", f_boiler}, {"all rights reserved", f_boiler},
    {"view in browser", f_boiler}, {"view this email", f_boiler}, {"manage preferences", f_boiler},
    {"email preferences", f_boiler}, {"manage your preferences", f_boiler}, {"copyright", f_boiler},
    {"terms of service", f_boiler}, {"terms and conditions", f_boiler}, {"you are receiving this", f_boiler},
    {"you're receiving this", f_boiler}, {"do not reply", f_boiler}, {"don't reply", f_boiler},
    {"update your preferences", f_boiler}, {"opt out", f_boiler}, {"this email was sent to", f_boiler},
    {"no longer wish", f_boiler}, {"sent from my", f_boiler}, {"this message was sent", f_boiler},
    // negators and intensifiers
    {"not", f_negator}, {"no", f_negator}, {"never", f_negator}, {"don't", f_negator}, {"doesn't", f_negator},
    {"didn't", f_negator}, {"isn't", f_negator}, {"wasn't", f_negator}, {"aren't", f_negator},
    {"weren't", f_negator}, {"can't", f_negator}, {"cannot", f_negator}, {"won't", f_negator},
    {"wouldn't", f_negator}, {"shouldn't", f_negator}, {"couldn't", f_negator}, {"haven't", f_negator},
    {"hasn't", f_negator}, {"without", f_negator}, {"hardly", f_negator}, {"nothing", f_negator},
    {"neither", f_negator}, {"nor", f_negator}, {"very", f_intensifier}, {"really", f_intensifier},
    {"extremely", f_intensifier}, {"so", f_intensifier}, {"super", f_intensifier},
    {"incredibly", f_intensifier}, {"truly", f_intensifier}, {"absolutely", f_intensifier},
    {"highly", f_intensifier}, {"totally", f_intensifier}, {"deeply", f_intensifier},
    // words that open a question
    {"can", f_question}, {"could", f_question}, {"would", f_question}, {"will", f_question},
    {"do", f_question}, {"does", f_question}, {"did", f_question}, {"are", f_question}, {"is", f_question},
    {"was", f_question}, {"were", f_question}, {"have", f_question}, {"has", f_question},
    {"what", f_question}, {"when", f_question}, {"where", f_question}, {"how", f_question},
    {"which", f_question}, {"should", f_question}, {"shall", f_question}, {"who", f_question},
    {"why", f_question}, {"any", f_question}, {"may", f_question},
    // verbs that ask for something when they open a clause
    {"send", f_imperative}, {"submit", f_imperative}, {"review", f_imperative}, {"update", f_imperative},
    {"call", f_imperative}, {"complete", f_imperative}, {"sign", f_imperative}, {"fill", f_imperative},
    {"book", f_imperative}, {"prepare", f_imperative}, {"schedule", f_imperative}, {"confirm", f_imperative},
    {"approve", f_imperative}, {"check", f_imperative}, {"share", f_imperative}, {"finish", f_imperative},
    {"pay", f_imperative}, {"bring", f_imperative}, {"forward", f_imperative}, {"reply", f_imperative},
    {"add", f_imperative}, {"fix", f_imperative}, {"return", f_imperative}, {"upload", f_imperative},
    {"register", f_imperative}, {"renew", f_imperative}, {"respond", f_imperative}, {"email", f_imperative},
    {"print", f_imperative}, {"pick", f_imperative}, {"remind", f_imperative}, {"join", f_imperative},
    {"attend", f_imperative}, {"ensure", f_imperative}, {"provide", f_imperative}, {"finalize", f_imperative},
    {"finalise", f_imperative}, {"read", f_imperative}, {"contact", f_imperative}, {"rsvp", f_imperative},
    {"reset", f_imperative}, {"verify", f_imperative}, {"install", f_imperative}, {"move", f_imperative},
    // greetings and sign-offs
    {"hi", f_greeting}, {"hello", f_greeting}, {"hey", f_greeting}, {"dear", f_greeting},
    {"thanks", f_greeting}, {"thank", f_greeting}, {"regards", f_greeting}, {"best", f_greeting},
    {"cheers", f_greeting}, {"sincerely", f_greeting}, {"good morning", f_greeting},
    {"good afternoon", f_greeting}, {"hope you're well", f_greeting}, {"hope you are well", f_greeting},
    {"hope this finds you well", f_greeting}, {"hope you're doing well", f_greeting},
    // the reader
    {"you", f_you}, {"your", f_you}, {"you're", f_you}, {"yours", f_you}, {"you'll", f_you},
    {"you've", f_you}, {"you'd", f_you}, {"u", f_you},
    // urgency bait: spam's favourite pressure
    {"act now", f_bait}, {"immediately", f_bait}, {"urgent", f_bait}, {"urgently", f_bait},
    {"within 24 hours", f_bait}, {"within 48 hours", f_bait}, {"expires today", f_bait},
    {"final notice", f_bait}, {"last chance", f_bait}, {"asap", f_bait}, {"right away", f_bait},
    {"don't delay", f_bait}, {"respond now", f_bait}, {"hurry", f_bait}, {"limited time", f_bait},
    {"suspended", f_bait},
    // words of the deadline phrases dates.cpp reads (numbers are noticed by the scanner)
    {"today", f_date}, {"tonight", f_date}, {"tomorrow", f_date}, {"eod", f_date}, {"cob", f_date},
    {"eob", f_date}, {"eow", f_date}, {"eom", f_date}, {"end of", f_date}, {"close of", f_date},
    {"this morning", f_date}, {"this afternoon", f_date}, {"this evening", f_date}, {"next week", f_date},
    {"day", f_date}, {"days", f_date}, {"week", f_date}, {"weeks", f_date}, {"month", f_date},
    {"months", f_date}, {"hour", f_date}, {"hours", f_date}, {"monday", f_date}, {"tuesday", f_date},
    {"wednesday", f_date}, {"thursday", f_date}, {"friday", f_date}, {"saturday", f_date}, {"sunday", f_date},
    {"mon", f_date}, {"tue", f_date}, {"tues", f_date}, {"wed", f_date}, {"thu", f_date}, {"thur", f_date},
    {"thurs", f_date}, {"fri", f_date}, {"sat", f_date}, {"sun", f_date}, {"january", f_date},
    {"february", f_date}, {"march", f_date}, {"april", f_date}, {"may", f_date}, {"june", f_date},
    {"july", f_date}, {"august", f_date}, {"september", f_date}, {"october", f_date}, {"november", f_date},
    {"december", f_date}, {"jan", f_date}, {"feb", f_date}, {"mar", f_date}, {"apr", f_date}, {"jun", f_date},
    {"jul", f_date}, {"aug", f_date}, {"sep", f_date}, {"sept", f_date}, {"oct", f_date}, {"nov", f_date},
    {"dec", f_date},
    // abbreviations a '.' follows inside a sentence (single letters are handled by the scanner)
    {"mr", f_abbreviation}, {"mrs", f_abbreviation}, {"ms", f_abbreviation}, {"dr", f_abbreviation},
    {"prof", f_abbreviation}, {"sr", f_abbreviation}, {"jr", f_abbreviation}, {"st", f_abbreviation},
    {"vs", f_abbreviation}, {"approx", f_abbreviation}, {"dept", f_abbreviation}, {"jan", f_abbreviation},
    {"feb", f_abbreviation}, {"mar", f_abbreviation}, {"apr", f_abbreviation}, {"jun", f_abbreviation},
    {"jul", f_abbreviation}, {"aug", f_abbreviation}, {"sep", f_abbreviation}, {"sept", f_abbreviation},
    {"oct", f_abbreviation}, {"nov", f_abbreviation}, {"dec", f_abbreviation},
};

constexpr SenderCue k_sender_cues[] = {
    {"noreply", Category::notification, 2, true}, {"no-reply", Category::notification, 2, true},
    {"no_reply", Category::notification, 2, true}, {"donotreply", Category::notification, 2, true},
    {"do-not-reply", Category::notification, 2, true}, {"do_not_reply", Category::notification, 2, true},
    {"notification", Category::notification, 1.5, true}, {"alerts@", Category::notification, 1.5, true},
    {"alert@", Category::notification, 1.5, true}, {"security", Category::notification, 1.5, false},
    {"newsletter", Category::newsletter, 2.5, true}, {"digest", Category::newsletter, 2.5, true},
    {"news@", Category::newsletter, 2, true}, {"weekly", Category::newsletter, 1.5, false},
    {"substack", Category::newsletter, 2.5, false}, {"editor", Category::newsletter, 1.5, false},
    {"deals", Category::promotion, 2, true}, {"offers", Category::promotion, 2, true},
    {"promo", Category::promotion, 2, true}, {"marketing", Category::promotion, 1.5, true},
    {"shop", Category::promotion, 1.5, false}, {"rewards", Category::promotion, 1.5, true},
    {"store", Category::promotion, 1, false}, {"billing", Category::finance, 2, false},
    {"invoice", Category::finance, 2, false}, {"payments", Category::finance, 2, false},
    {"payroll", Category::finance, 2, false}, {"bank", Category::finance, 1.5, false},
    {"statements", Category::finance, 2, false}, {"accounting", Category::finance, 2, false},
    {"finance", Category::finance, 1.5, false}, {"airline", Category::travel, 2, false},
    {"airways", Category::travel, 2, false}, {"booking", Category::travel, 2, false},
    {"travel", Category::travel, 2, false}, {"hotel", Category::travel, 2, false},
    {"trip", Category::travel, 1.5, false}, {"flights", Category::travel, 2, false},
    {"support", Category::support, 2, false}, {"helpdesk", Category::support, 2, false},
    {"help@", Category::support, 2, false}, {"care@", Category::support, 1.5, false},
    {"tickets", Category::support, 1, false}, {"gmail.com", Category::personal, 1, false},
    {"yahoo.", Category::personal, 1, false}, {"hotmail.", Category::personal, 1, false},
    {"outlook.com", Category::personal, 0.5, false}, {"icloud.com", Category::personal, 1, false},
    {"aol.com", Category::personal, 1, false}, {"proton", Category::personal, 0.5, false},
};
// clang-format on

} // namespace

std::string_view category_name(Category c) {
  static constexpr std::array<std::string_view, k_categories> k_names = {
      "work",    "personal", "newsletter", "promotion", "notification",
      "finance", "travel",   "support",    "spam",      "other"};
  return k_names[static_cast<std::size_t>(c)];
}

const Lexicon& Lexicon::instance() {
  static const Lexicon lexicon;
  return lexicon;
}

Lexicon::Lexicon() {
  Index index;
  for (const auto& [category, terms] : k_category_tables) {
    for (const auto& t : terms) {
      entry_for(index, t.text).category[static_cast<std::size_t>(category)] += t.weight;
    }
  }
  for (const auto& t : k_urgency) {
    entry_for(index, t.text).urgency += t.weight;
  }
  for (const auto& t : k_sentiment) {
    entry_for(index, t.text).sentiment += t.weight;
  }
  for (const auto& t : k_flags) {
    entry_for(index, t.text).flags |= t.flags;
  }
  for (Entry& e : m_entries) {
    const bool weighted =
        e.urgency != 0 || std::any_of(e.category.begin(), e.category.end(), [](float w) { return w != 0; });
    e.flags |= weighted ? std::uint32_t{f_weighted} : 0u;
  }
  build_slots();
}

Entry& Lexicon::entry_for(Index& index_of, std::string_view phrase) {
  std::uint64_t h = 0;
  std::size_t index = 0;
  for (std::size_t b = 0; b < phrase.size();) {
    const std::size_t e = std::min(phrase.find(' ', b), phrase.size());
    const std::uint64_t w = hash_word(phrase.substr(b, e - b));
    h = b == 0 ? w : extend(h, w);
    const auto [it, added] = index_of.try_emplace(h, static_cast<std::uint32_t>(m_entries.size()));
    if (added) {
      m_keys.push_back(h);
      m_entries.push_back(Entry{.id = it->second});
    }
    index = it->second;
    m_entries[index].flags |= e < phrase.size() ? f_prefix : f_term;
    b = e + 1;
  }
  return m_entries[index];
}

void Lexicon::build_slots() {
  m_slots.assign(std::bit_ceil(std::max<std::size_t>(64, 2 * m_entries.size())), Slot{});
  m_mask = m_slots.size() - 1;
  for (std::size_t e = 0; e < m_entries.size(); ++e) {
    std::size_t i = m_keys[e] & m_mask;
    while (m_slots[i].tag != 0) {
      i = (i + 1) & m_mask;
    }
    m_slots[i] = Slot{static_cast<std::uint32_t>(m_keys[e] >> 32) | 1u, static_cast<std::uint32_t>(e)};
  }
}

std::span<const SenderCue> sender_cues() {
  return k_sender_cues;
}

} // namespace mp::analyser::lexicon
