import {registry} from "@web/core/registry";

// An operator in Discuss finds /transfer among the composer's commands, picks
// the expertise among the suggestions, transfers the visitor to a Billing
// expert and leaves the chat, told who took it.
registry.category("web_tour.tours").add("im_livechat_ext_transfer", {
    steps: () => [
        {trigger: ".o-mail-DiscussSidebarChannel:contains(Visitor)", run: "click"},
        {
            trigger: ".o-mail-Discuss .o-mail-Message:contains(Can someone help with my invoice?)",
            content: "the visitor's chat is open",
        },
        {trigger: ".o-mail-Composer-input", run: "edit /tran"},
        {
            trigger: ".o-mail-Composer-suggestion:contains(transfer):contains(Transfer the chat to an expert)",
            content: "the command is listed with its help",
        },
        {trigger: ".o-mail-Composer-input", run: "edit /transfer Bil"},
        {
            trigger: ".o-mail-Composer-suggestion:contains(transfer Billing Tour):contains(1 can take a chat now)",
            content: "the expertises are suggested as you type, with who can take the chat",
            run: "click",
        },
        {trigger: ".o-mail-Composer-input:value(/transfer Billing Tour )"},
        {trigger: ".o-mail-Composer-input", run: "press Enter"},
        {
            trigger: '.o_notification:contains("Billing Expert (Billing Tour) is taking over this chat.")',
            content: "the operator is told who took the chat",
        },
        {
            trigger: "body:not(:has(.o_notification:contains(unsubscribed)))",
            content: "and not that they unsubscribed",
        },
    ],
});

// The expert opens the chat in Discuss: they joined it, with its history,
// and the visitor was told who takes over and why.
registry.category("web_tour.tours").add("im_livechat_ext_transfer_expert", {
    steps: () => [
        {trigger: ".o-mail-Message:contains(Billing Expert, a specialist in your question, is taking over.)"},
        {trigger: ".o-mail-Message:contains(Can someone help with my invoice?)"},
    ],
});
