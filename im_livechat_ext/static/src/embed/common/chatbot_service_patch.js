import {ChatBotService} from "@im_livechat/embed/common/chatbot/chatbot_service";

import {patch} from "@web/core/utils/patch";

patch(ChatBotService.prototype, {
    setup(env, services) {
        super.setup(env, services);
        // Nobody could take the chat while the visitor waited in line (F22):
        // the script that forwarded them goes on after its forward step, or
        // the channel's script for "no operator" starts in the session.
        env.services.bus_service.subscribe("im_livechat_ext/chatbot_resume", ({channel_id}) => {
            const chatbot = this.chatbot;
            if (!chatbot || chatbot.thread?.id !== channel_id) {
                return;
            }
            if (chatbot.currentStep) {
                chatbot.currentStep.operatorFound = false;
            }
            this.start();
        });
    },
});
