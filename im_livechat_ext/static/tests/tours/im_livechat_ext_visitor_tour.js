import {registry} from "@web/core/registry";

const inChat = (selector) => `.o-livechat-root:shadow ${selector}`;

// A visitor talks to the chatbot, picks an answer whose next step forwards
// with an expertise, and the expert joins under their online chat name.
registry.category("web_tour.tours").add("im_livechat_ext_chatbot_expertise_tour", {
    checkDelay: 50,
    steps: () => [
        {
            trigger: inChat('.o-mail-Message:contains("What is your question about?")'),
            run: () => {
                // skip the typing delays of the bot
                odoo.__WOWL_DEBUG__.root.env.services["im_livechat.chatbot"].chatbot.script.isLivechatTourRunning =
                    true;
            },
        },
        {trigger: inChat('li:contains("An invoice or a payment")'), run: "click"},
        {
            content: "the forward step speaks, then the page is reloaded to read the conversation from the server",
            trigger: inChat('.o-mail-Message:contains("Let me find an accountant.")'),
            run: () => location.reload(),
        },
        // the notice names the expert by their online chat name
        {trigger: inChat('.o-mail-Message:contains("Ada has joined")')},
    ],
});
