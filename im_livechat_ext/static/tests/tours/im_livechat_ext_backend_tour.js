import {registry} from "@web/core/registry";

// A manager creates an expertise from Live Chat > Configuration > Expertise,
// then sets their chat name and expertise in My Profile > Preferences.
registry.category("web_tour.tours").add("im_livechat_ext_expertise_and_preferences", {
    steps: () => [
        {trigger: ".o_list_renderer", content: "the expertise list is open"},
        {trigger: ".o_list_button_add", run: "click"},
        {trigger: ".o_data_row [name=name] input", run: "edit Tour Warranty"},
        {trigger: ".o_list_button_save", run: "click"},
        {trigger: ".o_data_row:not(.o_selected_row) td[name=name]:contains(Tour Warranty)"},
        // add two operators to it, in the list
        {trigger: ".o_data_row:contains(Tour Warranty) td[name=user_ids]", run: "click"},
        {trigger: ".o_selected_row [name=user_ids] input", run: "edit Tour Operator A"},
        {trigger: ".o-autocomplete--dropdown-item:contains(Tour Operator A)", run: "click"},
        {trigger: ".o_selected_row [name=user_ids] input", run: "edit Tour Operator B"},
        {trigger: ".o-autocomplete--dropdown-item:contains(Tour Operator B)", run: "click"},
        {trigger: ".o_list_button_save", run: "click"},
        {trigger: ".o_data_row:not(.o_selected_row):contains(Tour Warranty) td[name=user_count]:contains(2)"},
        {trigger: ".o_user_menu button", run: "click"},
        {trigger: "[data-menu=settings]", run: "click"},
        {trigger: ".modal [name=livechat_username] input", run: "edit Tour Chat Name"},
        {trigger: ".modal [name=livechat_expertise_ids] input", run: "edit Tour Warr"},
        {trigger: ".o-autocomplete--dropdown-item:contains(Tour Warranty)", run: "click"},
        {trigger: ".modal [name=livechat_expertise_ids] .o_tag:contains(Tour Warranty)"},
        {trigger: ".modal button[name=preference_save]", run: "click"},
        {trigger: "body:not(:has(.modal))", content: "preferences saved"},
        {trigger: ".o_user_menu button", run: "click"},
        {trigger: "[data-menu=settings]", run: "click"},
        {trigger: ".modal [name=livechat_username] input:value(Tour Chat Name)"},
        {trigger: ".modal [name=livechat_expertise_ids] .o_tag:contains(Tour Warranty)"},
    ],
});

// An operator joins a channel from the Live Chat kanban and leaves it again.
registry.category("web_tour.tours").add("im_livechat_ext_join_leave", {
    steps: () => [
        {
            trigger: ".o_kanban_record:contains(Tour Channel) .o_livechat_operator_count:contains(1 Operators)",
        },
        {trigger: ".o_kanban_record:contains(Tour Channel) button[name=action_join]", run: "click"},
        {trigger: ".o_kanban_record:contains(Tour Channel) button[name=action_quit]"},
        {
            trigger: ".o_kanban_record:contains(Tour Channel) .o_livechat_operator_count:contains(2 Operators)",
        },
        {trigger: ".o_kanban_record:contains(Tour Channel) button[name=action_quit]", run: "click"},
        {trigger: ".o_kanban_record:contains(Tour Channel) button[name=action_join]"},
        {
            trigger: ".o_kanban_record:contains(Tour Channel) .o_livechat_operator_count:contains(1 Operators)",
        },
    ],
});

// An operator sees "1 waiting" on the channel card, opens Live Chat > Waiting
// Line and finds the visitor there with their place (not their messages).
registry.category("web_tour.tours").add("im_livechat_ext_waiting_line_menu", {
    steps: () => [
        {trigger: ".o_kanban_record:contains(Tour Line) .o_livechat_waiting_count:contains(1 waiting)"},
        // the card as a live board: the one operator present has no free slot
        {trigger: ".o_kanban_record:contains(Tour Line) .o_livechat_present_count:contains(1 present)"},
        {trigger: ".o_kanban_record:contains(Tour Line) .o_livechat_free_slots:contains(0 free slots)"},
        {
            trigger: ".o_main_navbar button:contains(Waiting Line), .o_main_navbar a:contains(Waiting Line)",
            run: "click",
        },
        {trigger: ".o_list_renderer .o_data_row td[name=visitor_name]:contains(Waiting Wanda)"},
        {trigger: ".o_data_row:contains(Waiting Wanda) td[name=place]:contains(1)"},
        {trigger: ".o_data_row:contains(Waiting Wanda) td[name=channel_id]:contains(Tour Line)"},
    ],
});

// A manager opens Live Chat > Report > Sessions: it opens on the outcomes per
// expertise, and its pivot shows the wait in line beside the estimate by hour.
registry.category("web_tour.tours").add("im_livechat_ext_outcome_report", {
    steps: () => [
        {trigger: ".o_graph_renderer"},
        {trigger: ".o_graph_renderer canvas"},
        {trigger: ".o_control_panel .o_switch_view.o_pivot", run: "click"},
        {trigger: ".o_pivot th:contains(Wait in Line (seconds))"},
        {trigger: ".o_pivot th:contains(Estimate Shown (seconds))"},
        {trigger: ".o_pivot th:contains(Estimate Error)"},
    ],
});

// A Spanish operator finds Live Chat in Spanish: stock's words (menus,
// Join, the Preferences' "Online Chat Name") as well as the module's.
registry.category("web_tour.tours").add("im_livechat_ext_spanish_operator", {
    steps: () => [
        {trigger: ".o_main_navbar .o_menu_brand:contains(Chat en vivo)"},
        {trigger: ".o_main_navbar .o_menu_sections:contains(Canales):contains(Fila de espera):contains(Configuración)"},
        {trigger: ".o_kanban_record:contains(Canal Tour) button[name=action_join]:contains(Unirse)"},
        {trigger: ".o_kanban_record:contains(Canal Tour) .o_livechat_present_count:contains(presentes)"},
        {trigger: ".o_main_navbar .o_menu_sections button:contains(Configuración)", run: "click"},
        {trigger: ".dropdown-item:contains(Experiencia)"},
        {trigger: ".dropdown-item:contains(Canales)"},
        {trigger: ".o_user_menu button", run: "click"},
        {trigger: "[data-menu=settings]:contains(Preferencias)", run: "click"},
        {trigger: ".modal label:contains(Nombre de chat en línea)"},
        {trigger: ".modal label:contains(Experiencia en chat en vivo)"},
    ],
});
