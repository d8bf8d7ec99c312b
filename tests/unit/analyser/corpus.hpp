#pragma once
// Fifty-two realistic emails (five or more per category) with what a careful human reader
// would say about them. The local analyser's tests check every one; the heuristics are
// tuned on general words and phrases (lexicon.cpp), never on these exact texts.
//
// All dates are relative to Wednesday 2 December 2026, the "now" the tests use.

#include <string_view>

namespace mp::test {

struct CorpusEmail {
  std::string_view subject;
  std::string_view sender;
  std::string_view content;
  std::string_view category;
  std::string_view urgency; ///< empty: not checked
  int needs_reply = -1;     ///< -1: not checked; 0 or 1
  int action_items = -1;    ///< -1: not checked
};

inline constexpr CorpusEmail k_corpus[] = {
    // ---------------------------------------------------------------- work
    {"Q4 roadmap review moved to Thursday", "Priya Natarajan <priya.natarajan@northwind.io>",
     R"(Hi team,

The Q4 roadmap review has moved from Wednesday to Thursday at 2pm in the Cedar conference room, because the leadership offsite ran over. The agenda is unchanged: we will walk through the updated timeline, the open staffing questions and the dependencies on the payments team.

Could you each update your section of the planning doc by Thursday at noon? Dana, please add the revised headcount numbers from finance. If a milestone has slipped, say so in the doc rather than in the meeting, so we can spend the hour on decisions.

Thanks,
Priya)",
     "work", "normal", 1, 2},
    {"Production outage: checkout API returning 500s", "Marcus Lee <marcus.lee@northwind.io>",
     R"(Heads up everyone, the checkout API in production has been returning 500 errors for about 20 minutes and the error rate is now at 35%. This looks related to the deployment that went out at 9:40. I've rolled back the release but the errors have not cleared.

I need you to join the incident bridge immediately: https://meet.northwind.io/inc-2291. Sam, can you pull the database connection metrics for the last hour? We need a status update for the customer success team ASAP because merchants are already reporting failed orders.

Marcus)",
     "work", "urgent", 1, 3},
    {"Draft of the vendor contract for your review", "Elena Petrova <elena.petrova@northwind.io>",
     R"(Hello Tom,

Attached is the second draft of the master services agreement with Acme Logistics. I have incorporated the changes from our call on Monday, mainly the revised liability cap in section 8 and the new data processing addendum.

Please review the highlighted clauses and send me your comments by December 9th. In particular, I would like your view on whether the 90-day termination notice works for the operations team. Once we have your sign-off I will send the final version to the vendor.

Best regards,
Elena)",
     "work", "normal", 1, 1},
    {"Weekly sync notes and action items", "Jordan Blake <jordan.blake@northwind.io>",
     R"(Hi all,

Here are the notes from today's sync. We agreed to freeze the API for the 2.3 release on Friday and to move the reporting dashboard to the next sprint. Customer interviews are going well: eight of the ten accounts we spoke to want CSV export before anything else.

Action items:
- Ravi to finish the migration script and share the dry-run results by Friday.
- Mei to schedule the design review with the analytics team.
- Everyone: make sure your Jira tickets reflect the new scope before the end of the week.

No need to reply, just keep the board up to date.

Jordan)",
     "work", "normal", 0, -1},
    {"Interview feedback for the senior backend candidate", "Hannah Okafor <h.okafor@northwind.io>",
     R"(Hi Luis,

Thanks for joining the panel for Ahmed's interview yesterday. The hiring committee meets on Friday morning to make a decision, and we still need written feedback from two interviewers.

Can you submit your scorecard in Greenhouse before Thursday evening? Please focus on the system design exercise, since that is where the panel's impressions differed the most. If you have any questions about the rubric, let me know.

Thanks,
Hannah)",
     "work", "", 1, 2},
    {"No rush: thoughts on the onboarding doc", "Nina Alvarez <nina.alvarez@northwind.io>",
     R"(Hi Alex,

I put together a first draft of the onboarding guide for new engineers, covering the dev environment setup, our code review norms and who to ask about what. It's in the team drive under Onboarding.

No rush on this at all, but whenever you get a chance I'd love your feedback, especially on the section about on-call. Happy to pair on it next week if that's easier.

Thanks!
Nina)",
     "work", "low", 1, -1},

    // ---------------------------------------------------------------- personal
    {"Dinner at ours on Saturday?", "Kate Morgan <kate.morgan82@gmail.com>",
     R"(Hey you!

It feels like ages since we last caught up properly. Ben and I were thinking of having a few friends over for dinner this Saturday around 7. Nothing fancy, just lasagna, some wine and probably too much dessert.

Are you and Chris free? The kids would love to see you both, and you can finally meet the new puppy. Let me know by Thursday so I know how much food to make.

Love,
Kate)",
     "personal", "normal", 1, 1},
    {"Photos from Mom's birthday", "Daniel Reyes <dreyes@outlook.com>",
     R"(Hi sis,

I finally uploaded the photos from Mom's 60th birthday party to the shared album. There are some great ones of you and Dad dancing, and a very blurry one of Uncle Joe trying to blow out the candles for her.

Mom keeps saying it was the best birthday she has had in years, so thank you again for organising everything. I still owe you for my half of the cake and the flowers, I'll send it over this weekend.

Talk soon,
Dan)",
     "personal", "normal", 0, 0},
    {"Hiking this weekend?", "Sofia <sofia.lindqvist@icloud.com>",
     R"(Hi!

The weather looks perfect for Sunday, so a few of us are planning to hike the Eagle Ridge trail. We would meet at the trailhead parking lot at 8am and should be back by early afternoon. It is about 9 miles with some steep parts, so bring good shoes, water and snacks.

Do you want to come? Chris said he could pick you up on the way if you need a ride. No pressure at all if you already have plans!

Sofia)",
     "personal", "normal", 1, -1},
    {"Re: Christmas plans", "Mom <linda.carter1957@yahoo.com>",
     R"(Hi sweetheart,

Your father and I are so happy you can make it for Christmas this year. Aunt Carol and the cousins are coming on Christmas Eve, so it will be a full house again.

Could you bring your famous pecan pie? And please remind your brother that he promised to help your dad with the turkey this time. We haven't seen him since the summer and I miss him.

We love you and can't wait to see you.

Mom

On Tue, Nov 10, 2026 at 6:12 PM Alex Carter <alex.carter@gmail.com> wrote:
> Hi Mom, we booked the flights to Boston! The airline confirmed our seats.
> Our flight lands on the 23rd in the evening, and the hotel is near the airport.)",
     "personal", "normal", 1, 2},
    {"Book club moved to my place", "Jess Alvarez <jess.alvarez@gmail.com>",
     R"(Hi everyone,

Small change of plans for book club next Tuesday: the cafe is closed for renovations, so we will meet at my place instead. Same time, 7:30. I'll make a big pot of chili and there will be wine and cake.

We are discussing the second half of The Night Circus, so no spoilers for Maya who is still catching up! My address is 42 Linden Street, and you can park on the street after 6.

See you there,
Jess)",
     "personal", "", 0, 0},

    // ---------------------------------------------------------------- newsletter
    {"The Morning Brief: markets wobble, AI chips and a four-day week",
     "The Morning Brief <newsletter@morningbrief.com>",
     R"(Good morning, and welcome to this week's edition of The Morning Brief.

In this issue: why chip stocks had their worst week since March, what the four-day work week trial in Iceland actually found, and a long read on the economics of public libraries.

Markets: The S&P 500 slipped 1.8% on Friday as investors took profits in semiconductor stocks. Analysts remain split on whether the AI spending boom has further to run.

Work: A new report from the Autonomy Institute looks at 2,500 workers who moved to a four-day week. Productivity held steady and sick days fell by a third. Read more on our site.

That's all for today. Forward this to a friend who would enjoy it.

You are receiving this email because you subscribed to The Morning Brief. Unsubscribe or manage your email preferences.)",
     "newsletter", "background", 0, 0},
    {"This Week in Rust #512", "This Week in Rust <digest@this-week-in-rust.org>",
     R"(Hello and welcome to another issue of This Week in Rust!

Updates from the Rust community: the 1.84 release is out with improved async closures, and the compiler team published their roadmap for 2027.

Featured articles:
* Understanding Pin without the pain, by a core contributor
* How we cut our build times in half with sccache
* A gentle introduction to embedded Rust on the RP2040

Crate of the week: jiff, a datetime library designed for humans.

Upcoming events: the RustConf call for proposals closes on January 15.

If you would like to suggest content for the next issue, open a pull request on our GitHub repository. To stop receiving this digest, unsubscribe here.)",
     "newsletter", "background", 0, 0},
    {"What's new at Notion: November 2026", "Notion <team@mail.notion.so>",
     R"(Hi there,

Here is our monthly roundup of everything new in Notion. This month we shipped offline mode for desktop, faster search across large workspaces, and a redesigned calendar view.

Highlights from the blog:
- How the Notion team plans a quarter in one page
- 5 templates for running better weekly meetings
- Customer story: how a 40-person design studio replaced four tools

Upcoming webinar: join our product team on December 10 for a live tour of the new features and a Q&A.

Thanks for reading, and see you next month.

The Notion Team

You're receiving this because you signed up for product updates. Unsubscribe | Privacy policy)",
     "newsletter", "background", 0, 0},
    {"Your daily headlines from The Harbor Gazette", "The Harbor Gazette <headlines@harborgazette.com>",
     R"(Top stories for Wednesday, December 2

City council approves $48 million budget for waterfront park. The vote passed 7 to 2 after a four-hour session, with construction expected to begin next spring.

Storm brings record rainfall to the coast. More than 3 inches fell overnight, and several roads near the marina remain closed this morning.

High school robotics team heads to nationals. The Harbor High Mechanics will compete in Houston after winning the state championship.

Read these stories and more at harborgazette.com. You are receiving this newsletter as a Gazette subscriber. To unsubscribe, click here.)",
     "newsletter", "background", 0, 0},
    {"Issue 87: Designing calm interfaces", "Sidebar by Ana Ruiz <ana@sidebar.substack.com>",
     R"(Hi friends,

Welcome back to Sidebar, the newsletter about design, attention and the tools we use every day. This week I want to talk about calm interfaces: software that respects your time instead of competing for it.

I have been collecting examples for months, and the pattern is clear. The best tools batch their notifications, make the next step obvious and get out of the way. I wrote up five principles in the essay below, with screenshots from apps I use daily.

Also in this issue: a short interview with the designer behind the Things to-do app, and three links worth reading this weekend.

If you enjoyed this, forward it to a friend. Thanks for reading!

Ana

Unsubscribe from Sidebar)",
     "newsletter", "background", 0, 0},

    // ---------------------------------------------------------------- promotion
    {"Black Friday extended: 40% off everything", "Northwind Outfitters <deals@northwindoutfitters.com>",
     R"(Missed out? Good news: our Black Friday sale is extended through Sunday night.

Take 40% off everything sitewide, including our best-selling down jackets and waterproof hiking boots. Members also get free shipping on every order, with no minimum.

Use code EXTEND40 at checkout. Hurry, this offer ends Sunday at midnight and popular sizes are already selling out.

Shop now

Northwind Outfitters, 120 Market Street, Portland OR. You are receiving this email because you signed up for offers from Northwind. Unsubscribe.)",
     "promotion", "low", 0, 0},
    {"Your cart misses you", "Lumen Home <hello@lumenhome.com>",
     R"(Hi Alex,

You left something beautiful behind. The Aria linen duvet cover in Sage is still waiting in your cart, but we can't hold it forever.

Complete your order in the next 48 hours and enjoy 15% off with code COMEBACK15. Our linen is stonewashed for softness, ships free on orders over $100 and comes with a 60-night trial.

Return to your cart

Questions? Our team is here to help seven days a week.

Lumen Home | Manage preferences | Unsubscribe)",
     "promotion", "low", 0, 0},
    {"Flash sale: 24 hours only on headphones", "SoundHaus <promo@soundhaus.com>",
     R"(FLASH SALE! For the next 24 hours only, save up to $150 on our most popular noise-cancelling headphones.

The Studio Pro 2 is now just $249 (was $399), and the compact Travel Buds are down to $89. Every pair comes with a two-year warranty and free returns.

These are our lowest prices of the year, and once they are gone, they are gone. Don't miss out!

Shop the sale

SoundHaus Inc. | View in browser | Unsubscribe)",
     "promotion", "low", 0, 0},
    {"A gift for you: a free drink in your birthday month", "Bean Bar Rewards <rewards@beanbar.com>",
     R"(Happy December! As a Bean Bar Rewards member, you have earned a free drink of any size to celebrate your birthday month.

Your reward is already loaded in the app and is valid until December 31. Plus, this week only, get double points on every holiday drink, including the new Maple Pecan Latte.

Order ahead in the app and skip the line.

Bean Bar Coffee | Terms and conditions apply. Unsubscribe from promotional emails.)",
     "promotion", "low", 0, 0},
    {"Upgrade to Premium and save 50% for 3 months", "Streamly <offers@streamly.tv>",
     R"(Hi there,

For a limited time, get Streamly Premium for just $4.99 a month for your first 3 months. That's 50% off the regular price.

Premium means no ads, offline downloads on up to five devices, and early access to new originals every Friday. Cancel anytime.

This exclusive offer expires December 8. Upgrade now and start watching tonight.

Streamly, 500 Sunset Blvd, Los Angeles. Unsubscribe or update your email preferences.)",
     "promotion", "low", 0, 0},

    // ---------------------------------------------------------------- notification
    {"Your password was changed", "Acme Cloud <no-reply@acmecloud.com>",
     R"(Hi Jamie,

The password for your Acme Cloud account (jamie@example.com) was changed on December 1, 2026 at 21:14 UTC from a Chrome browser on Windows in Lisbon, Portugal.

If this was you, you can safely ignore this email.

If you did not make this change, reset your password immediately and review the devices signed in to your account. For help, visit our security center.

This is an automated message. Please do not reply to this email.)",
     "notification", "", 0, -1},
    {"Your package has shipped", "ShopMart <shipment-tracking@shopmart.com>",
     R"(Good news! Your order #112-4839201 has shipped and is on its way.

Items in this shipment: Hamilton Beach 12-cup coffee maker (1).

Estimated delivery: Friday, December 4. Tracking number: 1Z999AA10123456784 (UPS).

You can track your package or manage your order in Your Orders. We'll send you another notification when it is out for delivery.

Thanks for shopping with us!)",
     "notification", "low", 0, 0},
    {"[GitHub] New comment on pull request #482", "Mei Chen <notifications@github.com>",
     R"(@mchen commented on this pull request.

In src/scheduler/queue.rs:

> Consider using a bounded channel here so a slow consumer cannot grow memory without limit.

I agree with this. Can you also add a test that fills the queue and checks that producers block?

Reply to this email directly, view it on GitHub, or unsubscribe. You are receiving this because you were mentioned.)",
     "notification", "low", 0, -1},
    {"Your Trello verification code", "Trello <do-not-reply@trello.com>",
     R"(Your Trello verification code is:

481902

Enter this code to finish signing in. The code expires in 10 minutes.

If you didn't request this code, you can ignore this email. Someone may have typed your email address by mistake.

Thanks,
The Trello Team)",
     "notification", "low", 0, -1},
    {"Reminder: dentist appointment tomorrow at 10:30",
     "Bright Smile Dental <appointments@brightsmiledental.com>",
     R"(Hi Alex,

This is a friendly reminder of your appointment with Dr. Patel at Bright Smile Dental tomorrow, December 3, at 10:30 AM.

Please arrive 10 minutes early to complete any paperwork. If you need to reschedule, call us at (555) 201-4470 at least 24 hours in advance to avoid a cancellation fee.

We look forward to seeing you!)",
     "notification", "", -1, -1},

    // ---------------------------------------------------------------- finance
    {"Invoice INV-2026-1187 from Brightline Design", "Brightline Design <billing@brightlinedesign.co>",
     R"(Hello,

Please find attached invoice INV-2026-1187 for the website redesign work completed in November, totalling $8,450.00.

Payment is due within 30 days, by December 31, 2026. You can pay by bank transfer to the account listed on the invoice or by credit card through the secure payment link below.

If you have any questions about the charges, please contact our accounts team at accounts@brightlinedesign.co.

Thank you for your business,
Brightline Design)",
     "finance", "normal", 0, 0},
    {"Your November statement is ready", "Harbor Credit Union <statements@harborcu.org>",
     R"(Your monthly statement for checking account ending in 4417 is now available in online banking.

Statement period: November 1 - November 30, 2026
Opening balance: $3,218.44
Closing balance: $2,976.10
Deposits and credits: $4,120.00
Withdrawals and debits: $4,362.34

To view your statement, sign in to online banking or the Harbor CU mobile app. For your security, we never ask for your password by email.

Harbor Credit Union is federally insured by NCUA.)",
     "finance", "normal", 0, 0},
    {"Payment received - thank you", "City Utilities <billing@cityutilities.gov>",
     R"(Hi Alex Carter,

We have received your payment of $142.67 for account 8820-4471-03 on December 1, 2026. Your balance is now $0.00.

Your next bill will be issued on December 15 and will be due on January 5, 2027. You are enrolled in paperless billing, so we will email you when it is ready.

Thank you for being a City Utilities customer.)",
     "finance", "normal", 0, 0},
    {"Did you make this purchase?", "Harbor Credit Union Alerts <alerts@harborcu.org>",
     R"(We noticed an unusual transaction on your Visa debit card ending in 0932.

Merchant: ELECTROMART ONLINE
Amount: $1,249.99
Date: December 2, 2026 at 03:12 AM

If you made this purchase, no action is needed. If you don't recognise it, call us right away at 1-800-555-0144 or lock your card in the mobile app, and we will send you a replacement card.

This alert was sent to the mobile number and email address on file.)",
     "finance", "", 0, -1},
    {"Payroll: your December payslip", "Northwind Payroll <payroll@northwind.io>",
     R"(Hi Alex,

Your payslip for the period ending December 15, 2026 is now available in the employee portal.

Gross pay: $6,250.00
Tax withheld: $1,412.50
401(k) contribution: $375.00
Net pay: $4,281.90

The net amount will be deposited to your checking account ending in 2290 on Friday. If anything looks wrong, contact the payroll team before the end of the month.

Northwind People Operations)",
     "finance", "normal", 0, -1},

    // ---------------------------------------------------------------- travel
    {"Your flight to Lisbon is confirmed: ABC123", "SkyWays Airlines <reservations@skyways.com>",
     R"(Thank you for booking with SkyWays. Your trip is confirmed.

Confirmation number: ABC123
Flight SW 482, Boston (BOS) to Lisbon (LIS)
Departs: Friday, December 18, 2026 at 9:45 PM
Arrives: Saturday, December 19, 2026 at 9:05 AM
Passenger: Alex Carter, Seat 23A

Online check-in opens 24 hours before departure. Please have your passport ready at the airport, and remember that one carry-on bag and one personal item are included in your fare.

Manage your booking or add checked baggage at skyways.com/manage.)",
     "travel", "normal", 0, 1},
    {"Boarding pass: Chicago to Denver, gate B14", "Prairie Air <no-reply@prairieair.com>",
     R"(Hi Alex,

You're checked in! Your boarding pass for flight PA 1207 from Chicago O'Hare (ORD) to Denver (DEN) is attached.

Boarding begins at 6:10 AM at gate B14 and the gate closes 15 minutes before departure. Your seat is 14C.

Security lines at ORD Terminal 1 are currently about 25 minutes, so plan to arrive at the airport early.

Have a great flight!)",
     "travel", "", 0, 0},
    {"Reservation confirmed: Hotel Alfama, Dec 19-23", "Booking Partners <confirmations@bookingpartners.com>",
     R"(Your reservation is confirmed.

Hotel Alfama Lisboa, Rua de Sao Miguel 12, Lisbon
Check-in: Saturday, December 19, 2026 from 3:00 PM
Check-out: Wednesday, December 23, 2026 until 11:00 AM
Room: Deluxe double with river view, 4 nights, breakfast included
Total: EUR 864.00, paid

Free cancellation is available until December 16. The property offers an airport shuttle for EUR 25 each way; contact the hotel directly to arrange it.

We hope you enjoy your stay!)",
     "travel", "normal", 0, -1},
    {"Trip itinerary: Tokyo, January 11-16", "Northwind Travel Desk <travel@northwind.io>",
     R"(Hi Alex,

Your travel for the Tokyo engineering summit is booked. Here is your itinerary:

- Flight out: JL 7, Chicago (ORD) to Tokyo Haneda (HND), Monday, January 11, departs 12:50 PM
- Hotel: Park Hyatt Tokyo, January 12 to January 16, confirmation 88213
- Flight back: JL 10, Tokyo Haneda to Chicago, Saturday, January 16, departs 10:30 AM

Please make sure your passport is valid for at least six months after your return date, and submit your per diem request in Concur before you leave.

Safe travels,
Northwind Travel Desk)",
     "travel", "normal", 0, 1},
    {"Your train to Edinburgh is delayed", "ScotRail Journey Alerts <alerts@scotrail.co.uk>",
     R"(We're sorry, your 14:30 train from London Kings Cross to Edinburgh Waverley on 2 December is delayed by approximately 45 minutes due to a signalling fault near York.

Your new estimated arrival time is 19:10. Your seat reservation in Coach C, seat 42, remains valid.

If your journey is delayed by more than 30 minutes, you may be entitled to Delay Repay compensation. You can claim online within 28 days of your journey.

We apologise for the disruption to your travel.)",
     "travel", "", 0, 0},

    // ---------------------------------------------------------------- support
    {"[Ticket #48213] Unable to export reports to CSV", "Acme Support <support@acme-analytics.com>",
     R"(Hi Alex,

Thanks for contacting Acme Analytics support. I'm sorry you're running into trouble with CSV exports.

I was able to reproduce the issue on our side: exports with more than 50,000 rows are timing out after 60 seconds. Our engineering team has a fix scheduled for next Tuesday's release. In the meantime, a workaround is to apply a date filter and export the report in smaller chunks.

Could you confirm which workspace you are using so I can add it to the bug report? I'll keep this ticket open and update you as soon as the fix is live.

Best,
Priya
Acme Support Team)",
     "support", "normal", 1, 1},
    {"Case 00391822: replacement for damaged blender", "KitchenPro Customer Care <care@kitchenpro.com>",
     R"(Dear Alex,

Thank you for reaching out about your KitchenPro Vortex blender arriving with a cracked jar. We are sorry for the inconvenience.

Your case number is 00391822. We have approved a free replacement jar under warranty, and it will ship within 3 business days. You do not need to return the damaged part.

If there is anything else our customer care team can help with, simply reply to this email and include your case number.

Kind regards,
Marco
KitchenPro Customer Care)",
     "support", "normal", 0, -1},
    {"Re: VPN keeps disconnecting", "IT Help Desk <helpdesk@northwind.io>",
     R"(Hi Alex,

Thanks for the details. Based on the logs you sent, the VPN client is dropping the connection when your laptop switches from Wi-Fi to ethernet.

Please try the following steps and let me know if the problem continues:
1. Update the GlobalConnect client to version 6.2 from the Software Center.
2. Restart your laptop.
3. In the client settings, enable "Reconnect on network change".

If it still disconnects after that, I can schedule a remote session with you tomorrow afternoon.

Regards,
Tom Becker
IT Help Desk, request #IT-20931)",
     "support", "normal", 1, 1},
    {"How did we do? Your support request #55120 is resolved",
     "Lumen Home Support <support@lumenhome.zendesk.com>",
     R"(Hello Alex,

Your request (#55120) "Wrong size delivered" has been marked as resolved. Our agent Dana processed a free exchange, and the correct size should arrive within 5 business days.

How would you rate the support you received? Take our one-minute survey and tell us how we did.

If your issue is not fully resolved, simply reply to this email to reopen the request.

Lumen Home Customer Support)",
     "support", "", -1, -1},
    {"Support request received: can't log in to my account", "Streamly Help Center <help@streamly.tv>",
     R"(Hi Alex,

We've received your request and a member of our support team will get back to you within 24 hours. Your ticket number is #77310.

While you wait, these articles from our Help Center might solve the problem right away:
- Resetting your password
- Fixing "account locked" errors
- Signing in with a TV code

To add more details to your request, reply to this email. Please do not change the subject line, as it contains your ticket number.)",
     "support", "", -1, -1},

    // ---------------------------------------------------------------- spam
    {"CONGRATULATIONS!!! You have won $1,500,000",
     "International Lottery Board <claims.office2026@gmail.com>",
     R"(Dear Winner,

We are pleased to inform you that your email address was selected in our international online lottery draw held on November 28. You have won the sum of $1,500,000.00 USD.

To claim your prize, you must contact our claims agent immediately with your full name, address, phone number and a copy of your ID. A small processing fee of $250 is required to release the funds by wire transfer.

This offer expires within 48 hours. Act now to avoid losing your winnings!

Yours faithfully,
Dr. James Okoro
Claims Director)",
     "spam", "background", 0, 0},
    {"Your account will be suspended", "Amaz0n Security <security-alert@amaz0n-verify.net>",
     R"(Dear Customer,

We detected unusual activity on your account and it has been temporarily restricted. Your account will be suspended permanently if you do not verify your account within 24 hours.

Click here to verify your account and confirm your billing information: http://amaz0n-verify.net/login

Failure to respond will result in permanent closure of your account and loss of all orders.

Thank you,
Account Security Team)",
     "spam", "background", 0, 0},
    {"Business proposal - strictly confidential", "Mr. Ibrahim Kamara <ibrahim.kamara@consultant.com>",
     R"(Dear Friend,

I am Barrister Ibrahim Kamara, the personal attorney of a late foreign contractor who died in a car accident, leaving behind the sum of $10.5 million in a bank here. I am contacting you because you share the same last name, and I want to present you as the next of kin so the funds can be released to you.

This transaction is 100% risk free and legal. We will share the money 50/50 after the transfer. Kindly reply with your full name, phone number and bank details so we can proceed urgently.

I await your urgent response.

Barrister Ibrahim Kamara)",
     "spam", "background", 0, 0},
    {"Lose 20 pounds in 2 weeks - doctors hate this", "Health Insider <offers@slim-fast-keto.biz>",
     R"(Tired of diets that don't work? This one weird trick is helping thousands of people lose weight without exercise or dieting.

Our all-natural keto pills are clinically proven to burn fat 3x faster. Order today and get a FREE bottle, guaranteed results or your money back.

Only 17 bottles left at this price! Act now before this miracle offer disappears.

Click here to claim your free bottle.)",
     "spam", "background", 0, 0},
    {"Turn $250 into $10,000 in 30 days with Bitcoin", "Crypto Wealth Club <vip@crypto-wealth-club.io>",
     R"(Hello,

Our automated Bitcoin trading system has helped ordinary people double their money every month, guaranteed. No experience needed, it works while you sleep.

Members are earning $3,000 per week from home with just a $250 deposit. Spots are limited and we only accept 50 new investors this month.

Act now and secure your place before the offer closes at midnight. Click here to start earning today!

Crypto Wealth Club
Reply STOP to unsubscribe.)",
     "spam", "background", 0, 0},

    // ---------------------------------------------------------------- other
    {"Hello", "M. Haddad <m.haddad77@protonmail.com>",
     R"(Hi, I think I may have the wrong address. I was trying to reach Sam Whitfield, who used to live on Elm Street. If that isn't you, sorry to bother you and please ignore this message.)",
     "other", "normal", 0, 0},
    {"Test", "alex.carter@northwind.io", "Testing the new mail client configuration. Please ignore.", "other",
     "normal", 0, 0},
    {"Quick survey about your commute", "Graduate Research Lab <commute.study@stateu.edu>",
     R"(Hello,

We are graduate students at State University studying how people get to and from their jobs. If you have a few minutes, we would be grateful if you could answer eight short questions about your commute.

The survey is anonymous and takes about four minutes. Participants can enter a draw for one of five $20 gift cards.

Thank you for considering it,
The Commute Study Group)",
     "other", "normal", 0, -1},
    {"Out of office", "Rachel Kim <rachel.kim@partnerco.com>",
     R"(Thank you for your message. I am out of the office with limited access to email until Monday, December 7. For anything time-sensitive, please contact Jordan Lee at jordan.lee@partnerco.com. I will respond to your email when I return.)",
     "notification", "", 0, 0},
    {"Your old domain name", "Kevin Marsh <kevin@marshdesign.net>",
     R"(Hello,

I noticed that the domain alexcarterphoto.com expired last month. Would you consider selling it to me if you still hold it? I run a small photography studio with the same name in Portland.

Kind regards,
Kevin)",
     "other", "normal", 1, 1},
    {"Is the bike still available?", "Tyler <tylerb.92@gmail.com>",
     R"(Hi, I saw your listing for the blue road bike. Is it still available? I could come and look at it this week if that works for you. Thanks, Tyler)",
     "other", "normal", 1, 0},
};

} // namespace mp::test
