//! The one diesel schema both backends share (see the migrations under `migrations/{sqlite,postgres}`).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        status -> Text,
        auth_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        description -> Text,
        grants_all -> Bool,
        is_builtin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    permissions (name) {
        name -> Text,
        description -> Text,
        is_builtin -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    role_permissions (role_id, permission_name) {
        role_id -> Text,
        permission_name -> Text,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Text,
        role_id -> Text,
        granted_by -> Nullable<Text>,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        public_id -> Text,
        name -> Text,
        description -> Text,
        secret_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
    }
}

diesel::table! {
    api_key_roles (api_key_id, role_id) {
        api_key_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<Text>,
        target_label -> Text,
        summary -> Text,
        ip_address -> Nullable<Text>,
        outcome -> Text,
        client_network -> Nullable<Text>,
        repeat_count -> Integer,
        last_occurred_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        absolute_expires_at -> Timestamp,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(role_permissions -> permissions (permission_name));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(api_key_roles -> roles (role_id));
diesel::joinable!(api_key_roles -> api_keys (api_key_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    roles,
    permissions,
    role_permissions,
    user_roles,
    api_keys,
    api_key_roles,
    audit_events,
    settings,
    user_tokens,
    sessions,
);
