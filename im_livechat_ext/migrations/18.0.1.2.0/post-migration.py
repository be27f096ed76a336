def migrate(cr, version):
    """The last-assignment time moved from res_users to the routing's own
    table (created by the upgrade, with a row per channel operator)."""
    cr.execute(
        """SELECT 1 FROM information_schema.columns
            WHERE table_name = 'res_users' AND column_name = 'livechat_last_assignment_dt'"""
    )
    if not cr.fetchone():
        return
    cr.execute(
        """INSERT INTO im_livechat_operator_status (user_id, last_assignment_dt)
           SELECT id, livechat_last_assignment_dt FROM res_users WHERE livechat_last_assignment_dt IS NOT NULL
           ON CONFLICT (user_id) DO UPDATE SET last_assignment_dt = EXCLUDED.last_assignment_dt"""
    )
    cr.execute("ALTER TABLE res_users DROP COLUMN livechat_last_assignment_dt")
