{
    "name": "Live Chat Routing by Language and Expertise",
    "summary": "Route every live chat to an available operator who speaks the visitor's language and knows the subject",
    "version": "18.0.1.9.0",
    "category": "Website/Live Chat",
    "author": "im_livechat_ext developers",
    "website": "https://github.com/im-livechat-ext/im_livechat_ext",
    "license": "LGPL-3",
    "maintainers": ["im-livechat-ext"],
    "development_status": "Beta",
    "depends": ["im_livechat", "resource"],
    "data": [
        "security/ir.model.access.csv",
        "security/im_livechat_ext_security.xml",
        "data/ir_cron_data.xml",
        "views/im_livechat_expertise_views.xml",
        "views/res_users_views.xml",
        "views/im_livechat_channel_views.xml",
        "views/discuss_channel_views.xml",
        "views/im_livechat_waiting_line_views.xml",
        "views/im_livechat_operator_removal_views.xml",
        "views/chatbot_script_step_views.xml",
        "views/im_livechat_channel_templates.xml",
        "report/im_livechat_report_channel_views.xml",
    ],
    "demo": [
        "demo/im_livechat_ext_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "im_livechat_ext/static/src/core/web/**/*",
        ],
        "im_livechat.assets_embed_core": [
            "im_livechat_ext/static/src/embed/common/**/*",
        ],
        "web.assets_tests": [
            "im_livechat_ext/static/tests/tours/**/*",
        ],
    },
    "pre_init_hook": "pre_init_hook",
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
