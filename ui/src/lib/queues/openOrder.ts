// "Open an order" from the workflow screens: the Orders screen, searched for exactly it.
import { navigation } from "../navigation.svelte";
import { shortId } from "../format";

export function openOrder(orderSessionKey: string): void {
  navigation.openOrders({ state: null, search: orderSessionKey, title: `Order ${shortId(orderSessionKey)}` });
}
