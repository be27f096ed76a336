import {registry} from "@web/core/registry";

// An operator in Discuss finds /transfer among the composer's commands,
// transfers the visitor to a Billing expert and leaves the chat.
registry.category("web_tour.tours").add("im_livechat_ext_transfer", {
    steps: () => [
        {
            trigger: ".o-mail-Discuss .o-mail-Message:contains(Can someone help with my invoice?)",
            content: "the visitor's chat is open",
        },
        {trigger: ".o-mail-Composer-input", run: "edit /tran"},
        {
            trigger: ".o-mail-Composer-suggestion:contains(transfer):contains(Transfer the chat to an expert)",
            content: "the command is listed with its help",
        },
        {trigger: ".o-mail-Composer-input", run: "edit /transfer Billing Tour"},
        {trigger: ".o-mail-Composer-input", run: "press Enter"},
        {
            trigger: ".o-mail-Composer-input:value()",
            content: "the command ran (the test checks the expert joined and the operator left)",
        },
    ],
});

// The expert opens the chat in Discuss: they joined it, with its history.
registry.category("web_tour.tours").add("im_livechat_ext_transfer_expert", {
    steps: () => [
        {trigger: ".o-mail-NotificationMessage:contains(Billing Expert has joined)"},
        {trigger: ".o-mail-Message:contains(Can someone help with my invoice?)"},
    ],
});
