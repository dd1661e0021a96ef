// The list of configured accounts for the switcher and the accounts panel.
import { commands, type AccountView, type NewAccount } from "../ipc/bindings";
import { toIpcError } from "../ipc/errors";
import type { IpcError } from "../ipc/bindings";

export type CommandResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

async function attempt<T>(run: () => Promise<T>): Promise<CommandResult<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (e) {
    return { ok: false, error: toIpcError(e) };
  }
}

export class AccountsStore {
  list = $state<AccountView[]>([]);

  async load(): Promise<CommandResult<AccountView[]>> {
    const result = await attempt(() => commands.listAccounts());
    if (result.ok) this.list = result.value;
    return result;
  }

  async switchTo(accountId: string): Promise<CommandResult<AccountView>> {
    return attempt(() => commands.switchAccount(accountId));
  }

  /** Adds an account; the backend stores the secrets in the OS keychain and makes it active. */
  async add(input: NewAccount): Promise<CommandResult<AccountView>> {
    const result = await attempt(() => commands.addAccount(input));
    if (result.ok) await this.load();
    return result;
  }
}
