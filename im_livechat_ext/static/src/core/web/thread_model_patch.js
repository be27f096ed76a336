import {Thread} from "@mail/core/common/thread_model";
import {patch} from "@web/core/utils/patch";

// An operator who hands a live chat over (/transfer) is told who took it
// (the server's notification), not "You unsubscribed from ...".
patch(Thread.prototype, {
    get notifyOnLeave() {
        return super.notifyOnLeave && !this.livechat_handed_over;
    },
});
