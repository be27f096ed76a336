import {LivechatService} from "@im_livechat/embed/common/livechat_service";

import {_t} from "@web/core/l10n/translation";
import {patch} from "@web/core/utils/patch";
import {session} from "@web/session";

const {DateTime} = luxon;

/**
 * When the team opens again, in the visitor's language and time zone.
 *
 * @param {string} nextOpening UTC, ISO 8601
 */
export function closedNotice(nextOpening) {
    const opening = DateTime.fromISO(nextOpening, {zone: "utc"}).toLocal();
    return _t("Our team is closed right now. We will be back %(when)s.", {
        when: opening.toLocaleString({
            weekday: "long",
            day: "numeric",
            month: "long",
            hour: "numeric",
            minute: "2-digit",
            timeZoneName: "short",
        }),
    });
}

patch(LivechatService.prototype, {
    async initialize() {
        await super.initialize(...arguments);
        // closed by its opening hours (F21): the button stays, to say when
        if (!this.available && this.nextOpening) {
            this.closed = true;
            this.available = true;
        }
    },

    get nextOpening() {
        return session.livechatData?.nextOpening;
    },

    async open() {
        if (this.closed) {
            this.notificationService.add(closedNotice(this.nextOpening), {
                type: "info",
                sticky: true,
            });
            return;
        }
        return super.open(...arguments);
    },
});
