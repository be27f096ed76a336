import {SuggestionService} from "@mail/core/common/suggestion_service";
import {cleanTerm} from "@mail/utils/common/format";
import {_t} from "@web/core/l10n/translation";
import {patch} from "@web/core/utils/patch";

const TRANSFER = "transfer";

// "/transfer Bil" suggests the expertises a live chat can be transferred to,
// with how many of their operators can take it now: read once per chat as
// "/transfer" is typed, not at every key.
patch(SuggestionService.prototype, {
    async fetchSuggestions({delimiter, term}, {thread} = {}) {
        const cleaned = cleanTerm(term);
        if (delimiter === "/" && thread?.channel_type === "livechat" && cleaned.startsWith(TRANSFER)) {
            this.livechatTransferOptions ??= {};
            if (cleaned === TRANSFER || !this.livechatTransferOptions[thread.id]) {
                this.livechatTransferOptions[thread.id] = await this.orm.silent.call(
                    "discuss.channel",
                    "livechat_transfer_options",
                    [[thread.id]]
                );
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
