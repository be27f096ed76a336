import {SuggestionService} from "@mail/core/common/suggestion_service";
import {cleanTerm} from "@mail/utils/common/format";
import {_t} from "@web/core/l10n/translation";
import {patch} from "@web/core/utils/patch";

const TRANSFER = "transfer";
const REFRESH_MS = 30000;

// "/transfer Bil" suggests the expertises a live chat can be transferred to,
// with how many of their operators can take it now: read once per chat (and
// every 30 s) as "/transfer" is typed, not at every key.
patch(SuggestionService.prototype, {
    async fetchSuggestions({delimiter, term}, {thread} = {}) {
        if (delimiter === "/" && thread?.channel_type === "livechat" && cleanTerm(term).startsWith(TRANSFER)) {
            this.livechatTransferOptions ??= {};
            this.livechatTransferFetched ??= {};
            // once per chat, again after REFRESH_MS: "can take a chat now" moves
            if (Date.now() - (this.livechatTransferFetched[thread.id] || 0) > REFRESH_MS) {
                this.livechatTransferFetched[thread.id] = Date.now();
                try {
                    this.livechatTransferOptions[thread.id] = await this.orm.silent.call(
                        "discuss.channel",
                        "livechat_transfer_options",
                        [[thread.id]]
                    );
                } catch {
                    this.livechatTransferOptions[thread.id] = []; // not one's to transfer: asked once
                }
            }
            return;
        }
        return super.fetchSuggestions(...arguments);
    },
    searchSuggestions({delimiter, term}, {thread, sort = false} = {}) {
        const words = cleanTerm(term).split(/\s+/);
        const options = this.livechatTransferOptions?.[thread?.id];
        if (
            delimiter !== "/" ||
            thread?.channel_type !== "livechat" ||
            words[0] !== TRANSFER ||
            words.length < 2 ||
            !options
        ) {
            return super.searchSuggestions(...arguments);
        }
        const wanted = words.slice(1).join(" ");
        const suggestions = options
            .filter((option) => cleanTerm(option.name).includes(wanted))
            .map((option) => ({
                name: `${TRANSFER} ${option.name}`,
                help: _t("%(count)s can take a chat now", {count: option.available}),
            }));
        return {type: "ChannelCommand", suggestions};
    },
});
