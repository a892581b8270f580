-- Failed sign-ins, each for a new email (five failures for one email within 15 minutes would
-- throttle it and skip the argon2 check this load is meant to cause). Unknown emails are checked
-- against a dummy argon2 hash, so each request costs one full argon2id verification.
local counter = 0
local thread_id = 0
local run = tostring(os.time())

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local email = string.format("bench-%s-%s-%d%%40example.invalid", run, tostring(tid), counter)
  local body = "email=" .. email .. "&password=not-the-password-" .. counter
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Sec-Fetch-Site"] = "same-origin",
  }, body)
end
