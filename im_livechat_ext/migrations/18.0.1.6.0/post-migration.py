def migrate(cr, version):
    """Ongoing chats now count only those the routing gave: the operator of
    a session, or a member a chatbot forwarded it to (livechat_assigned).
    Chats open at the upgrade keep counting for the operators of their
    channel who take part in them, as before."""
    cr.execute(
        """UPDATE discuss_channel_member member
              SET livechat_assigned = TRUE
             FROM discuss_channel session, im_livechat_channel_im_user operator, res_users users
            WHERE session.id = member.channel_id
              AND session.channel_type = 'livechat' AND session.livechat_active
              AND member.partner_id IS DISTINCT FROM session.livechat_operator_id
              AND operator.channel_id = session.livechat_channel_id
              AND users.id = operator.user_id AND users.partner_id = member.partner_id"""
    )
