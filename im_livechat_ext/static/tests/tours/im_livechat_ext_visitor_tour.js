import {registry} from "@web/core/registry";

const inChat = (selector) => `.o-livechat-root:shadow ${selector}`;

// The bot's first question is there; the bot's typing delays are skipped.
const botAsksItsQuestion = () => ({
    trigger: inChat('.o-mail-Message:contains("What is your question about?")'),
    run: () => {
        odoo.__WOWL_DEBUG__.root.env.services["im_livechat.chatbot"].chatbot.script.isLivechatTourRunning = true;
    },
});

// A visitor talks to the chatbot, picks an answer whose next step forwards
// with an expertise, and the expert joins under their online chat name.
registry.category("web_tour.tours").add("im_livechat_ext_chatbot_expertise_tour", {
    checkDelay: 50,
    steps: () => [
        botAsksItsQuestion(),
        {trigger: inChat('li:contains("An invoice or a payment")'), run: "click"},
        {
            content: "the forward step speaks, then the page is reloaded to read the conversation from the server",
            trigger: inChat('.o-mail-Message:contains("Let me find an accountant.")'),
            run: () => location.reload(),
        },
        // the notice names the expert by their online chat name, so does the header
        {trigger: inChat('.o-mail-Message:contains("Ada has joined")')},
        {trigger: inChat('.o-mail-ChatWindow-header:contains("Ada")')},
    ],
});

// Every operator is full: the visitor waits as number 1, then sees the
// operator join when a chat of theirs closes, without reloading the page.
registry.category("web_tour.tours").add("im_livechat_ext_waiting_line_tour", {
    checkDelay: 50,
    steps: () => [
        {trigger: inChat(".o-livechat-LivechatButton"), run: "click"},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit Hello, anybody there?"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {trigger: inChat('.o-mail-Message:contains("You are number 1 in line")')},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit Still waiting"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {trigger: inChat('.o-mail-Message:contains("Still waiting")')},
        {
            content: "an operator's chat closes on the server: the join is a new message, below the visitor's",
            trigger: inChat('.o-mail-Message:contains("Still waiting") ~ .o-mail-Message:contains("Lina has joined")'),
            timeout: 30000,
        },
        {trigger: inChat('.o-mail-Thread:not(:has(.o-mail-Message:contains("in line")))')},
        {content: "the header names who answers", trigger: inChat('.o-mail-ChatWindow-header:contains("Lina")')},
    ],
});

// Every operator is full: the bot's forward step puts the visitor in line and
// its script stops there. The visitor writes while waiting, also once the
// page is reloaded, and the bot asks nothing more.
registry.category("web_tour.tours").add("im_livechat_ext_chatbot_line_tour", {
    checkDelay: 50,
    steps: () => [
        botAsksItsQuestion(),
        {trigger: inChat('li:contains("My order")'), run: "click"},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit I will wait"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {
            content: "the visitor's message is in: the page is reloaded to read the chat from the server",
            trigger: inChat('.o-mail-Message:contains("I will wait")'),
            run: () => location.reload(),
        },
        {trigger: inChat('.o-mail-Message:contains("You are number 1 in line")')},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit Still here"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {trigger: inChat('.o-mail-Message:contains("Still here")')},
        {trigger: inChat('.o-mail-Thread:not(:has(.o-mail-Message:contains("Leave us your email")))')},
    ],
});

// The channel is closed by its opening hours: the button is still there, and
// a French-speaking visitor who opens it reads, in French, when the team is back.
registry.category("web_tour.tours").add("im_livechat_ext_closed_tour", {
    checkDelay: 50,
    steps: () => [
        {trigger: inChat(".o-livechat-LivechatButton"), run: "click"},
        {trigger: '.o_notification:contains("Notre équipe est fermée")'},
        {trigger: '.o_notification:contains("09:00")'},
        {content: "no chat window opened: the button stays", trigger: inChat(".o-livechat-LivechatButton")},
    ],
});

// Every operator is full and nobody frees up before the channel's maximum
// wait: the visitor is told, the bot goes on with its steps for "nobody
// available" and takes the visitor's email.
registry.category("web_tour.tours").add("im_livechat_ext_missed_tour", {
    checkDelay: 50,
    steps: () => [
        botAsksItsQuestion(),
        {trigger: inChat('li:contains("My order")'), run: "click"},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit I will wait"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {trigger: inChat('.o-mail-Message:contains("I will wait")')},
        {
            content: "the maximum wait passes on the server: the visitor is told, the bot goes on",
            trigger: inChat('.o-mail-Message:contains("Nobody can answer this chat now")'),
            timeout: 30000,
        },
        {trigger: inChat('.o-mail-Message:contains("Leave us your email")'), timeout: 15000},
        {trigger: inChat(".o-mail-Composer-input"), run: "edit visitor@example.com"},
        {trigger: inChat(".o-mail-Composer-input"), run: "press Enter"},
        {trigger: inChat('.o-mail-Message:contains("We will write to you")'), timeout: 15000},
    ],
});
