DROP INDEX audit_events_target_label_idx;
DROP INDEX audit_events_actor_label_idx;
DROP TABLE user_tokens;
