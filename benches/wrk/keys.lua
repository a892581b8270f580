-- Each request presents a random key from the file named by KEYS_FILE (one key a line), so the
-- verification cache holds many keys instead of one.
local keys = {}

function init(args)
  local path = os.getenv("KEYS_FILE")
  assert(path, "KEYS_FILE is not set")
  for line in io.lines(path) do
    if #line > 0 then
      keys[#keys + 1] = line
    end
  end
  assert(#keys > 0, "no keys in " .. path)
  math.randomseed(os.time() + #keys)
end

function request()
  local key = keys[math.random(#keys)]
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. key })
end
